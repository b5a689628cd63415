#!/bin/sh
# Runs each libFuzzer target for a bounded number of executions over seed
# corpora made here from real files, printing one PASS/FAIL/SKIP line per
# target for tests/run.sh to count.   usage: tests/fuzz/run.sh BUILD_DIR RUNS
# BUILD_DIR "none" (no clang/libFuzzer) reports every target as skipped;
# FUZZ_TARGETS names a subset (default: all).
# A crashing input is kept as BUILD_DIR/<target>-crash-*; reproduce with
# BUILD_DIR/fuzz_<target> FILE.
set -u
bdir=$1 runs=$2
targets=${FUZZ_TARGETS:-safetensors index config grade dataset chat tokenizer tokjson store}
shared=${ZEVAL_SHARED:-../shared}
g="$shared/golden/zaya-tiny"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/st" "$work/idx" "$work/cfg" "$work/grade" "$work/ds" "$work/chat" "$work/tok" "$work/tj" \
  "$work/store"

# Writes $2 as an 8-byte little-endian integer (below 2^32) to stdout.
le64() {
  v=$1
  for i in 1 2 3 4 5 6 7 8; do printf "\\$(printf %03o $((v % 256)))"; v=$((v / 256)); done
}

# safetensors: the golden files' headers, each with a short data region
# (the whole files are too big for seeds), and a small valid file.
for f in model model-bf16 golden; do
  [ -f "$g/$f.safetensors" ] || continue
  hl=$(od -An -t u8 -N8 "$g/$f.safetensors" | tr -d ' ')
  head -c $((8 + hl + 256)) "$g/$f.safetensors" >"$work/st/$f.hdr"
done
h='{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]},"e":{"dtype":"U8","shape":[0],"data_offsets":[22,22]}}'
{ le64 ${#h}; printf '%s' "$h"; printf '0123456789abcdefghijkl'; } >"$work/st/small.safetensors"

# config.json: the golden (legacy schema) one and a native-schema twin.
[ -f "$g/config.json" ] && cp "$g/config.json" "$work/cfg/legacy.json"
printf '%s' '{"architectures":["ZayaForCausalLM"],"model_type":"zaya","num_hidden_layers":4,"hidden_size":192,"vocab_size":512,"num_attention_heads":4,"num_key_value_heads":2,"num_query_groups":2,"head_dim":128,"num_experts":4,"moe_intermediate_size":64,"router_hidden_size":64,"num_experts_per_tok":1,"rms_norm_eps":1e-5,"rope_parameters":{"hybrid":{"rope_type":"default","rope_theta":10000,"partial_rotary_factor":0.5}},"layer_types":["hybrid","hybrid","hybrid","hybrid"],"hidden_act":"silu","bos_token_id":2,"eos_token_id":[106,1],"pad_token_id":0,"tie_word_embeddings":true,"max_position_embeddings":4096}' >"$work/cfg/native.json"

# model.safetensors.index.json: a small valid index.
printf '%s' '{"metadata":{"total_size":1180},"weight_map":{"model.embed_tokens.weight":"model-00001-of-00002.safetensors","model.final_norm.weight":"model-00002-of-00002.safetensors","lm_head.weight":"model-00002-of-00002.safetensors"}}' >"$work/idx/index.json"

# grade: a type byte, a response, NUL, a gold (reasoning-style responses).
printf '\000<think>so 5^2</think>The answer is $\\boxed{025}$.\00025' >"$work/grade/int"
printf '\001**Final Answer:** $\\dfrac{9}{\\sqrt{23}} \\approx 1.877$\000\\frac{9 \\sqrt{23}}{23}' >"$work/grade/expr"
printf '\002x = \\boxed{\\frac{-1+\\sqrt{17}}{2}}, \\boxed{\\frac{-1-\\sqrt{17}}{2}}\000\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}' >"$work/grade/list"
printf '\004\\boxed{2^{25}\\cdot 26!} or \\boxed{149\\frac13 \\pm \\sqrt[3]{8}}\0003375' >"$work/grade/hedge"

# dataset: a type byte (0: normalized JSONL, k: registry entry k - 1, in
# `zeval datasets` order), then the first records of a file in that format
# (tests/ds_sources.py makes the source formats from the normalized files).
d="$shared/datasets"
{ printf '\000'; head -n 2 "$d/math/aime_2025.jsonl"; } >"$work/ds/normalized-math"
{ printf '\000'; head -n 2 "$d/code/humaneval.jsonl"; } >"$work/ds/normalized-code"
for s in "3 mathai_jsonl math/aime_2026.jsonl" "5 matharena_jsonl math/hmmt_feb_2026.jsonl" \
         "8 imobench_csv math/imo_answerbench.jsonl" \
         "10 mbpp_json code/mbpp_sanitized.jsonl" "11 rllm_lcb_json code/livecodebench_2408_2502_public.jsonl" \
         "12 lcb_jsonl code/livecodebench_2408_2502_public.jsonl"; do
  set -- $s
  python3 tests/ds_sources.py "$2" "$d/$3" "$work/ds.src" >/dev/null 2>&1 || continue
  { printf "\\$(printf %03o "$1")"
    python3 -c 'import csv, io, json, sys
t = open(sys.argv[1], newline="").read()
try:
    json.dump(json.loads(t)[:2], sys.stdout)
except ValueError:
    if t.startswith("Problem ID,"):  # a CSV whose fields hold newlines: 2 whole records
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerows(list(csv.reader(io.StringIO(t)))[:3])
    else:
        sys.stdout.write("".join(t.splitlines(True)[:2]))' "$work/ds.src"; } >"$work/ds/$2"
done
rm -f "$work/ds.src"

# chat: template files of the FILE syntax (chat.h).
printf '# chatml\n[bos]\n{bos}\n[system]\n<|im_start|>system\\n{content}<|im_end|>\\n\n[user]\n<|im_start|>user\\n\n{content}<|im_end|>\\n\n[assistant]\n<|im_start|>assistant\\n{content}<|im_end|>\\n\n[generation]\n<|im_start|>assistant\\n\n[generation_nothink]\n<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n\n' >"$work/chat/chatml"
printf '[user]\r\nU: {content}\\t\\{x\\#\\[\r\n[assistant]\r\nA: {content}{eos}\r\n' >"$work/chat/crlf"

# tokenizer: text (even first byte) and 3-byte ids (odd), for the real
# Gemma 3 tokenizer.json (the target loads $ZEVAL_FUZZ_TOKENIZER).
export ZEVAL_FUZZ_TOKENIZER="$shared/tokenizer/gemma3/tokenizer.json"
printf '\000Hello, world!  <start_of_turn>user\n\tcaf\303\251 \344\275\240\345\245\275 \360\237\230\200 x\302\240y 12345.678' >"$work/tok/text"
printf '\000\377\376 invalid \300\200 and \355\240\200' >"$work/tok/bytes"
printf '\001\002\000\000\150\000\000\344\000\000\040\001\000\003\001\000\377\377\003' >"$work/tok/ids"

# tokjson: small tokenizer.json files in Gemma 3's schema (BPE with byte
# fallback, added tokens, the space normalizer, bos post-processor).
python3 - "$work/tj" <<'PY'
import json, sys
added = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
          "normalized": False, "special": True} for i, c in enumerate(["<pad>", "<eos>", "<bos>", "<unk>"])]
vocab = {a["content"]: a["id"] for a in added}
for b in range(256):
    vocab["<0x%02X>" % b] = len(vocab)
for p in ["\u2581", "a", "b", "c", "ab", "\u2581a", "\u2581ab", "abc", "\n", "\u2581\u2581"]:
    vocab.setdefault(p, len(vocab))
t = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
     "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
     "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False},
     "post_processor": {"type": "TemplateProcessing",
                        "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                        "pair": [], "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}}},
     "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                                  {"type": "ByteFallback"}, {"type": "Fuse"}]},
     "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "fuse_unk": True, "byte_fallback": True,
               "vocab": vocab, "merges": [["a", "b"], ["\u2581", "a"], ["\u2581a", "b"], ["ab", "c"], ["\u2581", "\u2581"]]}}
open(sys.argv[1] + "/small.json", "w").write(json.dumps(t))
t["model"]["merges"] = [" ".join(m) for m in t["model"]["merges"]]  # the older "left right" form
del t["normalizer"], t["post_processor"]
open(sys.argv[1] + "/old-merges.json", "w").write(json.dumps(t, indent=1))
PY

# store: a run configuration as `zeval run` writes it, NUL, a dataset name,
# NUL, sample rows (problem, round, candidate, correct, gen_tokens,
# id_bytes, finish, extracted, text, started, finished; tab-separated).
store_seed() { # $1 file, $2 rsa, $3 dataset, then the rows on stdin
  { printf '{"rsa":"%s","N":4,"T":1,"samples":0,"temperature":1,"top_p":1,"seed":"1",' "$2"
    printf '"model":"m","dataset_spec":"%s","problems":2,"preset":"p"}\000%s\000' "$3" "$3"
    tr '|' '\t'; } >"$work/store/$1"
}
store_seed rsa "N=2,C=2,T=1,beta=16" aime_2025 <<'ROWS'
p1|0|0|1|4|16|stop|7|\boxed{7}|10|11
p1|0|1|0|4|16|length||no answer|10|12
p1|1|0|1|4|16|stop|7|\boxed{7}|12|13
p1|1|1||4|16|error||timeout|12|14
p2|0|0|0|2|8|stop|3|\boxed{3}|10|11
p2|1|0|1|2|8|stop|5|\boxed{5}|12|13
ROWS
store_seed published "N=16,C=4,T=2,beta=40K,final=40K,tau=4K" aime_2025 <<'ROWS'
p1|2|0|1|1|4|stop|1|x|1|2
p1|2|1|0|1|4|stop|2|y|1|2
ROWS
store_seed odd "N=1,C=1,T=0,beta=8" hmmt_feb_2025 <<'ROWS'
p1|0|0|7|3|5|stop|1|x|2|1
p1|64|0|yes|-1|0|stop
ROWS

t0=$(date +%s)
for t in $targets; do
  if [ ! -x "$bdir/fuzz_$t" ]; then
    echo "SKIP fuzz_$t: clang with libFuzzer not found (install clang and libclang-rt-14-dev)"
    continue
  fi
  case $t in safetensors) c=st; ml=20000;; index) c=idx; ml=4096;; config) c=cfg; ml=4096;;
    grade) c=grade; ml=4096;; dataset) c=ds; ml=8192;; chat) c=chat; ml=4096;; tokenizer) c=tok; ml=4096;;
    tokjson) c=tj; ml=16384;; store) c=store; ml=4096;; esac
  n=$runs
  # a store input writes a database and runs nine commands on it (about
  # 20 ms): a fiftieth of the runs
  [ "$t" = store ] && n=$(( (runs + 49) / 50 ))
  log="$work/$t.log"
  start=$(date +%s)
  ASAN_OPTIONS=detect_leaks=1 "$bdir/fuzz_$t" -runs="$n" -max_len=$ml -rss_limit_mb=2048 \
      -seed=1 -timeout=20 -max_total_time=150 -print_final_stats=1 \
      -artifact_prefix="$bdir/$t-" "$work/$c" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  if [ $rc -eq 0 ] && [ "${execs:-0}" -ge "$n" ]; then
    echo "PASS fuzz_$t: ${execs} executions (${secs}s)"
  else
    why=$(grep -E '^SUMMARY|ERROR: libFuzzer|runtime error' "$log" | head -1)
    echo "FAIL fuzz_$t: exit $rc after ${execs:-?} executions: ${why:-see below}"
    { grep -E '^ +#[0-9]+ .* in ' "$log" | grep -v -E ' in (fuzzer::|__libc_|_start|main )' | head -8
      grep -E 'Test unit written' "$log"; } | sed 's/^ */    /'
  fi
done
echo "fuzz: $(( $(date +%s) - t0 ))s for $targets"
