# Shell helpers of the test drivers (tests/run.sh, tests/gpu/run.sh), which
# run from the repository root and source this file.

# The complete lines of a log: a program killed mid-line (a timeout) leaves
# a last line without its newline, which is no verdict, and which would run
# into the next line printed.
lines() { if [ -n "$(tail -c 1 "$1")" ]; then sed '$d' "$1"; else cat "$1"; fi; }
