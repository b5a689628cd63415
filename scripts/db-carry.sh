#!/bin/sh
# Moves a run's SQLite database between machines whose transfers cap the
# size of each file (a GPU machine's results come back as files of at most
# 16 MiB), so that a run longer than one stay on such a machine goes on in
# the next one with `zeval run --resume`.
#
#   sh scripts/db-carry.sh pack DB DIR      snapshot DB into DIR
#   sh scripts/db-carry.sh unpack DIR DB    rebuild DB from DIR
#
# pack takes a consistent snapshot (VACUUM INTO: a run still writing, or one
# killed with its write-ahead log beside it, gives every committed row),
# compresses it with xz and cuts it into DIR/NAME.xz.00, .01, .. of at most
# PART_BYTES bytes (15 MiB), then writes DIR/NAME.parts: the database's
# file name, each part's name, size and SHA-256, one a line.  unpack checks
# every part against that list before it writes anything, joins and
# decompresses them to DB (which must not exist: nothing stored is
# overwritten), and checks the result with SQLite's integrity check; on any
# failure it names what is wrong and leaves no DB behind.
# Needs: python3 (its sqlite3 module), split, sha256sum; xz, else python3's
# lzma module writes and reads the same format (XZ=python: always that).
set -eu
PART_BYTES=${PART_BYTES:-15728640}

die() { echo "db-carry: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed"; }
use_xz() { [ "${XZ:-}" != python ] && command -v xz >/dev/null 2>&1; }
# xz_c FILE: FILE xz-compressed to stdout; xz_d: stdin decompressed to stdout
xz_c() {
  if use_xz; then xz -6 -T0 -c "$1"; else
    python3 -c 'import lzma, shutil, sys
with open(sys.argv[1], "rb") as f, lzma.open(sys.stdout.buffer, "wb", preset=6) as o:
    shutil.copyfileobj(f, o, 1 << 20)' "$1"
  fi
}
xz_d() {
  if use_xz; then xz -d; else
    python3 -c 'import lzma, shutil, sys
with lzma.open(sys.stdin.buffer, "rb") as f:
    shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)'
  fi
}

pack() {
  db=$1 dir=$2
  [ -f "$db" ] || die "$db: no such database"
  need python3; need split; need sha256sum
  name=$(basename "$db")
  mkdir -p "$dir"
  [ -e "$dir/$name.parts" ] && die "$dir/$name.parts exists already; pack into an empty folder"
  snap="$dir/.$name.snapshot"
  rm -f "$snap"
  python3 - "$db" "$snap" <<'PY' || { rm -f "$snap"; die "$db: could not take a snapshot"; }
import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
c.execute("VACUUM INTO ?", (sys.argv[2],))
c.close()
PY
  xz_c "$snap" | split -b "$PART_BYTES" -d -a 2 - "$dir/$name.xz." ||
    { rm -f "$snap" "$dir/$name.xz."*; die "$db: compressing the snapshot failed"; }
  size=$(wc -c <"$snap")
  rm -f "$snap"
  # the parts read back whole (a compressor that died mid-way leaves parts
  # that split wrote without complaint)
  got=$(cat "$dir/$name.xz."* | xz_d | wc -c) || got=-1
  [ "$got" -eq "$size" ] ||
    { rm -f "$dir/$name.xz."*; die "$db: the parts give $got bytes back, not $size"; }
  list="$dir/.$name.parts"
  echo "database $name $size" >"$list"
  for p in "$dir/$name.xz."*; do
    echo "part $(basename "$p") $(wc -c <"$p") $(sha256sum "$p" | cut -d' ' -f1)" >>"$list"
  done
  mv "$list" "$dir/$name.parts"
  n=$(grep -c '^part ' "$dir/$name.parts")
  echo "db-carry: $db ($size bytes) -> $n part(s) in $dir ($(cat "$dir/$name.xz."* | wc -c) bytes)"
}

unpack() {
  dir=$1 db=$2
  [ -e "$db" ] && die "$db exists already; unpack into a new path"
  need python3; need sha256sum
  lists=$(ls "$dir"/*.parts 2>/dev/null || true)
  [ -n "$lists" ] || die "$dir: no .parts list (pack writes one)"
  [ "$(echo "$lists" | wc -l)" -eq 1 ] || die "$dir: more than one .parts list"
  parts=""
  while read -r kind a b c; do
    case "$kind" in
      database) size=$b ;;
      part)
        p="$dir/$a"
        [ -f "$p" ] || die "$p: missing (listed in $lists)"
        got=$(wc -c <"$p")
        [ "$got" -eq "$b" ] || die "$p: $got bytes, $b listed (truncated or replaced)"
        [ "$(sha256sum "$p" | cut -d' ' -f1)" = "$c" ] || die "$p: SHA-256 differs from the list"
        parts="$parts $p" ;;
      *) die "$lists: unexpected line '$kind $a $b $c'" ;;
    esac
  done <"$lists"
  [ -n "$parts" ] || die "$lists: lists no parts"
  tmp="$db.unpacking"
  rm -f "$tmp"
  # shellcheck disable=SC2086 # the part paths hold no spaces (pack's names)
  cat $parts | xz_d >"$tmp" || { rm -f "$tmp"; die "$dir: the parts do not decompress"; }
  got=$(wc -c <"$tmp")
  [ "$got" -eq "$size" ] || { rm -f "$tmp"; die "$dir: $got bytes decompressed, $size listed"; }
  python3 - "$tmp" <<'PY' || { rm -f "$tmp"; die "$dir: the database fails SQLite's integrity check"; }
import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchall()
sys.exit(0 if r == [("ok",)] else 1)
PY
  mv "$tmp" "$db"
  echo "db-carry: $dir -> $db ($size bytes)"
}

case "${1:-}" in
  pack) [ $# -eq 3 ] || die "usage: db-carry.sh pack DB DIR"; pack "$2" "$3" ;;
  unpack) [ $# -eq 3 ] || die "usage: db-carry.sh unpack DIR DB"; unpack "$2" "$3" ;;
  *) die "usage: db-carry.sh pack DB DIR | unpack DIR DB" ;;
esac
