// Hugging Face tokenizers (Rust, through the Node bindings of npm
// @anush008/tokenizers 0.6.0) on the benchmark corpus: load time, encode
// throughput on one call, token count and a hash of the ids that
// `zeval bench tokenizer` prints the same way (FNV-1a 32 over the ids).
//
//   NODE_PATH=DIR/node_modules node tok_hf.js tokenizer.json corpus.txt [runs] [whole|chunks]
//
// whole: the corpus in one encode call.  chunks: the corpus cut after each
// run of newlines, all chunks in one encodeBatch call (run serially with
// TOKENIZERS_PARALLELISM=false); "\n" runs are added tokens, so the ids
// are the same, and HF is faster this way.
const fs = require('fs');
const { Tokenizer } = require('@anush008/tokenizers');
const [tokPath, corpusPath, runsArg, modeArg] = process.argv.slice(2);
const runs = Number(runsArg || 3);
const mode = modeArg || 'whole';
(async () => {
  let t0 = process.hrtime.bigint();
  const tok = Tokenizer.fromFile(tokPath);
  const load = Number(process.hrtime.bigint() - t0) / 1e9;
  const buf = fs.readFileSync(corpusPath);
  const text = buf.toString('utf8');
  const chunks = mode === 'chunks' ? text.match(/[^\n]*\n+|[^\n]+$/g) || [] : null;
  let best = Infinity, ids = null;
  for (let r = 0; r < runs; r++) {
    t0 = process.hrtime.bigint();
    let encs;
    if (chunks)
      encs = await tok.encodeBatch(chunks, { addSpecialTokens: false });
    else
      encs = [await tok.encode(text, null, { addSpecialTokens: false })];
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (s < best) best = s;
    if (!ids) {
      ids = [];
      for (const e of encs) for (const id of e.getIds()) ids.push(id);
    }
  }
  let h = 2166136261;
  for (const id of ids) h = Math.imul(h ^ id, 16777619) >>> 0;
  console.log(`hf_${mode}: load_s=${load.toFixed(3)} bytes=${buf.length} tokens=${ids.length} best_s=${best.toFixed(3)} ` +
              `MB_s=${(buf.length / 1e6 / best).toFixed(2)} ids_fnv=${h.toString(16).padStart(8, '0')}`);
})();
