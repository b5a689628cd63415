#!/usr/bin/env python3
"""hf_zaya.py — the same ZAYA1 checkpoint through Hugging Face transformers' own Zaya model.

A benchmark peer for zeval's GPU engine: it runs a checkpoint written by `zeval init-model`
(legacy/Megatron config.json and tensor names, spec §2.1/§3.1) through transformers' native
`ZayaForCausalLM` (transformers >= 5.13) in PyTorch on one CUDA GPU, batch 1, and times
single-token decode with the model's default cache — what a user of transformers gets.

Needs python3 with torch (CUDA build) and transformers >= 5.13 (written against the
transformers source of the native Zaya port: `ZayaConfig` with moe_intermediate_size /
router_hidden_size / rms_norm_eps / layer_types "hybrid" / rope_parameters["hybrid"]; the
decoder layer holds attention and MoE; experts stored as 3-D tensors).  safetensors is not
needed: the files are mapped and read directly.

Commands (run from the repository root):

  # 1. correctness eyeball on the tiny golden checkpoint (CPU is enough: --device cpu)
  python3 bench/hf_zaya.py check --model ../shared/golden/zaya-tiny \\
      --weights ../shared/golden/zaya-tiny/model-bf16.safetensors --ids 2,17,300,45 --tokens 8
  ./zeval generate --model ../shared/golden/zaya-tiny \\
      --weights ../shared/golden/zaya-tiny/model-bf16.safetensors --ids 2,17,300,45 \\
      --max-tokens 8 --ignore-eos --skip-output zero

  # 2. decode speed on a full-size checkpoint
  ./zeval init-model --config zaya1-8b --dtype bf16 --seed 1 --out /tmp/zaya-8b
  python3 bench/hf_zaya.py bench --model /tmp/zaya-8b --context 1024,16384 --tokens 32
  python3 bench/hf_zaya.py bench --model /tmp/zaya-8b --context 1024,16384 --tokens 32 --static

  # 3. dry run of the config/name conversion only (no transformers, no GPU, no weights read)
  python3 bench/hf_zaya.py plan --model /tmp/zaya-8b

check  prints, for f32 and bf16 weights/compute, the argmax of every prefill position, the
       argmax of the last one, the greedy continuation (prefill with use_cache=True, then one
       token per call through the returned cache) and whether a full no-cache forward over
       prompt+continuation agrees with the cached steps.  Compare the greedy tokens with the
       `zeval generate ... --skip-output zero` line above (bf16 compute may flip near-tied
       top-1 routing decisions, f32 should agree).
bench  for each --context L: a random prompt of L ids (torch.manual_seed(--seed), id 0 = BOS)
       is prefilled with use_cache=True (only the last position's logits are computed), then
       --warmup untimed and --tokens timed single-token decode steps (greedy next token from
       the logits, torch.cuda.synchronize() around the timed loop) follow; one line per
       context: `hf decode context L: X tok/s, Y ms/step, peak CUDA memory Z GiB ...`.
       Default cache: the DynamicCache the model makes itself.  --static passes transformers'
       StaticCache instead and runs the decode steps through torch.compile (--compile-mode);
       the Zaya port declares itself not fullgraph-compilable, so this is an experiment and
       may fail (it says so in one line); it is never needed for the plain numbers.
       --batch B decodes B sequences together (one prompt each, prefilled as one batch) and
       prints `hf decode batch B, context L: X tok/s` (all sequences' tokens).
       --runs 1:1024,1:16384,64:4096 runs those (batch, context) pairs after one model load.
gemm   the bf16 GEMM rate torch (cuBLAS) reaches on this GPU, n x n x n: the compute roof
       `zeval bench gpu-batch --gemm-tflops` measures against.
plan   prints the native config and the legacy -> native tensor mapping, and checks it
       against the module layout this script expects (no transformers needed).

Semantics note (spec §8.4): when the router picks the MoD skip slot, the native transformers
code outputs zero for that token, while the legacy reference (and zeval's default) output the
gate times the normalized input; zeval's `--skip-output zero` switches to the native rule.
For timing this makes no difference (the skip slot costs nothing in either).

Errors (no CUDA, a transformers without Zaya, a bad checkpoint) are reported in one line;
--traceback shows the Python traceback of unexpected errors.
"""
import argparse
import json
import mmap
import os
import re
import struct
import sys
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")          # nothing here needs the network

PROG = "hf_zaya.py"


class Fail(Exception):
    """An error reported as one line, without a traceback."""


try:
    import torch
except ImportError:
    torch = None


def need_torch():
    if torch is None:
        raise Fail("cannot import torch with %s" % sys.executable)


# ------------------------------------------------------------------- safetensors files

_ST_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


class Checkpoint:
    """Tensor names, shapes and (lazily) data of model.safetensors or its shards.

    Files are mapped read-only; a tensor is a view of the mapping (no copy)."""

    def __init__(self, model_dir, weights=None):
        if not os.path.isdir(model_dir):
            raise Fail("%s: no such model directory" % model_dir)
        index = os.path.join(model_dir, "model.safetensors.index.json")
        if weights:
            files = [weights]
        elif os.path.exists(index):
            try:
                with open(index) as f:
                    files = sorted(set(json.load(f)["weight_map"].values()))
            except (OSError, ValueError, KeyError, AttributeError, TypeError) as e:
                raise Fail("%s: unreadable index (%s: %s)" % (index, type(e).__name__, e))
            files = [os.path.join(model_dir, s) for s in files]
        elif os.path.exists(os.path.join(model_dir, "model.safetensors")):
            files = [os.path.join(model_dir, "model.safetensors")]
        else:
            raise Fail("%s: no model.safetensors or model.safetensors.index.json" % model_dir)
        self.entries = {}                 # name -> (path, dtype, shape, begin, end)
        self.maps = {}
        for path in files:
            for name, info in self._header(path).items():
                if name in self.entries:
                    raise Fail("%s: tensor '%s' is stored twice" % (path, name))
                self.entries[name] = (path,) + info

    @staticmethod
    def _header(path):
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                (n,) = struct.unpack("<Q", f.read(8))
                if n > size - 8:
                    raise ValueError("header length %d past the end of the file" % n)
                header = json.loads(f.read(n))
            out = {}
            for name, info in header.items():
                if name == "__metadata__":
                    continue
                dt = info["dtype"]
                if dt not in _ST_DTYPES:
                    raise ValueError("tensor '%s' has dtype %s (F32/F16/BF16 only)" % (name, dt))
                begin, end = info["data_offsets"]
                shape = tuple(int(s) for s in info["shape"])
                count = 1
                for s in shape:
                    count *= s
                width = 4 if dt == "F32" else 2
                if end - begin != count * width or 8 + n + end > size:
                    raise ValueError("tensor '%s': offsets do not match its shape" % name)
                out[name] = (dt, shape, 8 + n + begin, 8 + n + end)
            return out
        except (OSError, ValueError, KeyError, TypeError, struct.error) as e:
            raise Fail("%s: not a readable safetensors file (%s: %s)" % (path, type(e).__name__, e))

    def names(self):
        return list(self.entries)

    def shape(self, name):
        return self.entries[name][2]

    def tensor(self, name):
        """A CPU tensor viewing the file mapping (read-only; copy before writing)."""
        path, dt, shape, begin, end = self.entries[name]
        if path not in self.maps:
            with open(path, "rb") as f:
                self.maps[path] = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        raw = torch.int16 if dt in ("BF16", "F16") else torch.float32
        count = (end - begin) // (2 if raw == torch.int16 else 4)
        if count == 0:
            t = torch.empty(0, dtype=raw)
        else:
            with warnings.catch_warnings():        # "buffer is not writable": never written
                warnings.simplefilter("ignore")
                t = torch.frombuffer(self.maps[path], dtype=raw, count=count, offset=begin)
        if dt != "F32":
            t = t.view(getattr(torch, _ST_DTYPES[dt]))
        return t.view(shape)


# ------------------------------------------------------------------------ config (§2)

def read_legacy_config(model_dir):
    if not os.path.isdir(model_dir):
        raise Fail("%s: no such model directory" % model_dir)
    path = os.path.join(model_dir, "config.json")
    try:
        with open(path) as f:
            c = json.load(f)
    except (OSError, ValueError) as e:
        raise Fail("%s: cannot read config (%s)" % (path, e))
    if not isinstance(c, dict):
        raise Fail("%s: not a JSON object" % path)
    if "ffn_hidden_size" not in c:
        raise Fail("%s: not a legacy ZAYA config (no ffn_hidden_size); this script converts "
                   "checkpoints written by `zeval init-model` (legacy schema)" % path)
    return c


def native_fields(c):
    """The native ZayaConfig fields (spec §2.2) for a legacy config dict c (spec §2.1)."""
    def get(key, default, kind=int):
        v = c.get(key, default)
        if kind is int and (isinstance(v, bool) or not isinstance(v, int)):
            if isinstance(v, float) and v.is_integer():
                return int(v)
            raise Fail("config.json: %s must be an integer, got %r" % (key, v))
        if kind is float:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise Fail("config.json: %s must be a number, got %r" % (key, v))
            return float(v)
        if kind is bool and not isinstance(v, bool):
            raise Fail("config.json: %s must be true or false, got %r" % (key, v))
        return v

    n_sub = get("num_hidden_layers", 80)
    ffn = get("ffn_hidden_size", 4096)
    nq, nk = get("num_attention_heads", 8), get("num_key_value_heads", 2)
    if n_sub < 2 or n_sub % 2:
        raise Fail("config.json: num_hidden_layers (sub-layers) must be even, got %d" % n_sub)
    if ffn % 2:
        raise Fail("config.json: ffn_hidden_size (fused gate+up) must be even, got %d" % ffn)
    if nk < 1 or nq % nk:
        raise Fail("config.json: num_attention_heads must be a multiple of num_key_value_heads")
    if get("num_query_groups", nk) != nk:
        raise Fail("config.json: num_query_groups must equal num_key_value_heads")
    if get("moe_router_topk", 1) != 1:
        raise Fail("config.json: only top-1 routing (moe_router_topk = 1) exists natively")
    for key in ("zaya_use_mod", "zaya_use_eda", "scale_residual_merge", "gated_linear_unit"):
        if not get(key, True, bool):
            raise Fail("config.json: %s = false has no native equivalent (always true there)" % key)
    if get("add_bias_linear", False, bool):
        raise Fail("config.json: add_bias_linear = true (expert biases) has no native equivalent")
    if isinstance(c.get("rope_scaling"), dict):
        raise Fail("config.json: rope_scaling is not supported here (plain RoPE only)")
    n_blocks = n_sub // 2
    theta = get("rope_theta", 5000000.0, float)
    prf = get("partial_rotary_factor", 0.5, float)
    # Sliding-window sub-layers (spec §6.7; not used by ZAYA1-8B): legacy swa_layers[n] = w > 0
    # on attention sub-layer n -> native "hybrid_sliding" with sliding_window = w + 1.
    swa = c.get("swa_layers") or []
    if swa and len(swa) not in (n_sub, n_blocks):
        raise Fail("config.json: swa_layers has %d entries (expected %d)" % (len(swa), n_sub))
    per_block = list(swa[::2] if len(swa) == n_sub else swa) if swa else [0] * n_blocks
    windows = sorted({int(w) for w in per_block if int(w) > 0})
    if len(windows) > 1:
        raise Fail("config.json: several sliding-window sizes %s (native has one)" % windows)
    fields = {
        "vocab_size": get("vocab_size", 262272),
        "hidden_size": get("hidden_size", 2048),
        "num_hidden_layers": n_blocks,                           # decoder layers = attn + MoE
        "num_attention_heads": nq,
        "num_key_value_heads": nk,
        "head_dim": get("head_dim", 128),                        # explicit, never hidden/heads
        "hidden_act": "silu",                                    # SwiGLU experts
        "max_position_embeddings": get("max_position_embeddings", 131072),
        "rms_norm_eps": get("norm_epsilon", 1e-5, float),
        "tie_word_embeddings": get("tie_word_embeddings", True, bool),
        "attention_bias": get("attention_bias", False, bool),
        "lm_head_bias": get("lm_head_bias", False, bool),
        "attention_dropout": 0.0,
        "num_experts": get("num_experts", 16),
        "num_experts_per_tok": 1,
        "moe_intermediate_size": ffn // 2,                       # I = ffn_hidden_size / 2
        "router_hidden_size": get("zaya_mlp_expansion", 256),    # R
        "cca_time0": get("cca_time0", 2),
        "cca_time1": get("cca_time1", 2),
        "layer_types": ["hybrid_sliding" if int(w) > 0 else "hybrid" for w in per_block],
        "sliding_window": windows[0] + 1 if windows else None,
        "rope_parameters": {
            "hybrid": {"rope_type": "default", "rope_theta": theta, "partial_rotary_factor": prf},
            "hybrid_sliding": {"rope_type": "default",
                               "rope_theta": get("swa_rotary_base", 10000.0, float),
                               "partial_rotary_factor": prf},
        },
        "use_cache": True,
    }
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        if key in c:
            fields[key] = c[key]
    return fields


# ------------------------------------------------------------------- tensors (§3.2)

_EXPERT = re.compile(r"^model\.layers\.(\d+)\.zaya_block\.experts\.local_experts\.(\d+)"
                     r"\.linear_fc([12])\.weight$")
_LAYER = re.compile(r"^model\.layers\.(\d+)\.(.+)$")
_MERGE = ("hidden_states_scale", "hidden_states_bias", "residual_scale", "residual_bias")
_ATTN = (("self_attn.qkv.linear_q.", "self_attn.qkv_proj.q_proj."),
         ("self_attn.qkv.linear_k.", "self_attn.qkv_proj.k_proj."),
         ("self_attn.qkv.val_proj1.", "self_attn.qkv_proj.v_proj_current."),
         ("self_attn.qkv.val_proj2.", "self_attn.qkv_proj.v_proj_delayed."),
         ("self_attn.qkv.conv_qk.0.", "self_attn.qkv_proj.conv_qk_depthwise."),
         ("self_attn.qkv.conv_qk.1.", "self_attn.qkv_proj.conv_qk_grouped."),
         ("self_attn.o_proj.", "self_attn.o_proj."))
_ROUTER = (("down_proj.", "mlp.gate.down_proj."),
           ("router_mlp.0.", "mlp.gate.router_mlp.fc1."),
           ("router_mlp.2.", "mlp.gate.router_mlp.fc2."),
           ("router_mlp.4.", "mlp.gate.router_mlp.out_proj."))


def native_name(name, n_blocks):
    """Native name of a legacy (non-expert) tensor, or None if it has none."""
    if name in ("model.embed_tokens.weight", "lm_head.weight", "lm_head.bias"):
        return name
    if name == "model.final_norm.weight":
        return "model.norm.weight"
    if name.startswith("model.res_scale.") and name[16:] in _MERGE:
        # the final merge = the last decoder layer's post-MoE merge
        return "model.layers.%d.post_mlp_residual_scale.%s" % (n_blocks - 1, name[16:])
    m = _LAYER.match(name)
    if not m:
        return None
    n, rest = int(m.group(1)), m.group(2)
    i = n // 2
    if n >= 2 * n_blocks:
        return None
    if rest == "input_norm.weight":
        return "model.layers.%d.%s.weight" % (i, "post_attention_layernorm" if n % 2 else "input_layernorm")
    if rest.startswith("res_scale.") and rest[10:] in _MERGE:
        field = rest[10:]
        if n % 2:                                  # merge before the MoE sub-layer
            return "model.layers.%d.post_attention_residual_scale.%s" % (i, field)
        if n == 0:                                 # embeddings: branch side only
            return "model.input_%s" % field if field.startswith("hidden_states_") else None
        return "model.layers.%d.post_mlp_residual_scale.%s" % (i - 1, field)
    if n % 2 == 0:
        if rest == "self_attn.qkv.temp":
            return "model.layers.%d.self_attn.qk_norm.temp" % i
        for old, new in _ATTN:
            if rest.startswith(old) and rest[len(old):] in ("weight", "bias"):
                return "model.layers.%d.%s%s" % (i, new, rest[len(old):])
        return None
    if not rest.startswith("zaya_block.router."):
        return None
    r = rest[len("zaya_block.router."):]
    if r in ("router_states_scale", "balancing_biases"):
        return "model.layers.%d.mlp.gate.%s" % (i, r)
    if r == "rmsnorm_eda.weight":
        return "model.layers.%d.mlp.gate.router_mlp.norm.weight" % i
    for old, new in _ROUTER:
        if r.startswith(old) and r[len(old):] in ("weight", "bias"):
            return "model.layers.%d.%s%s" % (i, new, r[len(old):])
    return None


def build_plan(ckpt, fields):
    """{native name: ("one", legacy name) | ("stack", [legacy names by expert])}, notes."""
    nb, E = fields["num_hidden_layers"], fields["num_experts"]
    plan, experts, unknown, notes = {}, {}, [], []
    for name in ckpt.names():
        m = _EXPERT.match(name)
        if m and int(m.group(1)) % 2 == 1 and int(m.group(1)) < 2 * nb:
            key = "model.layers.%d.mlp.experts.%s" % (int(m.group(1)) // 2,
                                                     "gate_up_proj" if m.group(3) == "1" else "down_proj")
            experts.setdefault(key, {})[int(m.group(2))] = name
            continue
        key = native_name(name, nb)
        if key is None:
            unknown.append(name)
        elif fields["tie_word_embeddings"] and key == "lm_head.weight":
            notes.append("lm_head.weight is stored but the embeddings are tied; it is ignored")
        elif key in plan:
            raise Fail("tensors '%s' and '%s' both map to '%s'" % (plan[key][1], name, key))
        else:
            plan[key] = ("one", name)
    for key, by_e in sorted(experts.items()):
        if sorted(by_e) != list(range(E)):
            raise Fail("%s: experts %s stored, expected 0..%d" % (key, sorted(by_e), E - 1))
        shapes = {ckpt.shape(by_e[e]) for e in range(E)}
        if len(shapes) != 1:
            raise Fail("%s: experts of different shapes %s" % (key, sorted(shapes)))
        plan[key] = ("stack", [by_e[e] for e in range(E)])
    if fields["tie_word_embeddings"] and "model.embed_tokens.weight" in plan:
        plan["lm_head.weight"] = ("one", "model.embed_tokens.weight")   # tied LM head
    if unknown:
        raise Fail("checkpoint tensors with no native equivalent: %s" % _listing(unknown))
    return plan, notes


def plan_shape(ckpt, entry):
    kind, src = entry
    if kind == "one":
        return tuple(ckpt.shape(src))
    return (len(src),) + tuple(ckpt.shape(src[0]))


def expected_layout(f):
    """{name: shape} of ZayaForCausalLM's state dict as this script reads the modeling code.

    Only used for `plan` (no transformers at hand); `check`/`bench` compare with the real
    model's state_dict() instead."""
    H, V, nq, nk, d = (f["hidden_size"], f["vocab_size"], f["num_attention_heads"],
                       f["num_key_value_heads"], f["head_dim"])
    E, I, R = f["num_experts"], f["moe_intermediate_size"], f["router_hidden_size"]
    C = (nq + nk) * d
    out = {"model.embed_tokens.weight": (V, H), "model.input_hidden_states_scale": (H,),
           "model.input_hidden_states_bias": (H,), "model.norm.weight": (H,),
           "lm_head.weight": (V, H)}
    if f["lm_head_bias"]:
        out["lm_head.bias"] = (V,)
    for i in range(f["num_hidden_layers"]):
        p = "model.layers.%d." % i
        a = p + "self_attn.qkv_proj."
        lin = {a + "q_proj": (nq * d, H), a + "k_proj": (nk * d, H),
               a + "v_proj_current": (nk * d // 2, H), a + "v_proj_delayed": (nk * d // 2, H),
               p + "self_attn.o_proj": (H, nq * d)}
        for k, s in lin.items():
            out[k + ".weight"] = s
            if f["attention_bias"]:
                out[k + ".bias"] = (s[0],)
        out.update({
            a + "conv_qk_depthwise.weight": (C, 1, f["cca_time0"]), a + "conv_qk_depthwise.bias": (C,),
            a + "conv_qk_grouped.weight": (C, C // (nq + nk), f["cca_time1"]),
            a + "conv_qk_grouped.bias": (C,),
            p + "self_attn.qk_norm.temp": (nk,),
            p + "input_layernorm.weight": (H,), p + "post_attention_layernorm.weight": (H,),
            p + "mlp.gate.down_proj.weight": (R, H), p + "mlp.gate.down_proj.bias": (R,),
            p + "mlp.gate.router_mlp.norm.weight": (R,),
            p + "mlp.gate.router_mlp.fc1.weight": (R, R), p + "mlp.gate.router_mlp.fc1.bias": (R,),
            p + "mlp.gate.router_mlp.fc2.weight": (R, R), p + "mlp.gate.router_mlp.fc2.bias": (R,),
            p + "mlp.gate.router_mlp.out_proj.weight": (E + 1, R),
            p + "mlp.gate.balancing_biases": (E + 1,),
            p + "mlp.experts.gate_up_proj": (E, 2 * I, H), p + "mlp.experts.down_proj": (E, H, I)})
        if i > 0:
            out[p + "mlp.gate.router_states_scale"] = (R,)
        for m in ("post_attention_residual_scale.", "post_mlp_residual_scale."):
            for field in _MERGE:
                out[p + m + field] = (H,)
    return out


def compare_layout(plan, ckpt, expected, what):
    """Fails with the missing / unexpected / mis-shaped names (strict loading)."""
    missing = sorted(set(expected) - set(plan))
    unexpected = sorted(set(plan) - set(expected))
    bad = ["%s %s <- %s" % (k, list(expected[k]), list(plan_shape(ckpt, plan[k])))
           for k in sorted(set(plan) & set(expected))
           if tuple(expected[k]) != plan_shape(ckpt, plan[k])]
    if missing or unexpected or bad:
        parts = []
        if missing:
            parts.append("missing (in %s, not in the converted checkpoint): %s" % (what, _listing(missing)))
        if unexpected:
            parts.append("unexpected (converted, not in %s): %s" % (what, _listing(unexpected)))
        if bad:
            parts.append("shape mismatches (%s <- converted): %s" % (what, _listing(bad)))
        raise Fail("strict load failed; " + "; ".join(parts))


def _listing(names, limit=12):
    names = list(names)
    more = "" if len(names) <= limit else " ... (%d in all)" % len(names)
    return ", ".join(names[:limit]) + more


# ------------------------------------------------------------------ transformers model

def import_transformers():
    need_torch()
    try:
        import transformers
    except Exception as e:                             # ImportError or a broken install
        raise Fail("cannot import transformers (%s: %s)" % (type(e).__name__, e))
    version = getattr(transformers, "__version__", "?")
    try:
        from transformers import ZayaConfig, ZayaForCausalLM
    except Exception as e:
        raise Fail("transformers %s has no Zaya model (ZayaForCausalLM needs transformers >= "
                   "5.13): %s: %s" % (version, type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
    return transformers, ZayaConfig, ZayaForCausalLM


_NOT_READ_BACK = ("bos_token_id", "eos_token_id", "pad_token_id", "use_cache", "attention_dropout")


def make_config(ZayaConfig, fields):
    try:
        cfg = ZayaConfig(**fields)
    except Exception as e:
        raise Fail("ZayaConfig rejected the converted config (%s: %s)" % (type(e).__name__, e))
    # The native schema is what this script was written for; a transformers whose ZayaConfig
    # names its fields differently would silently keep defaults, so read every field back.
    for key, want in fields.items():
        if key in _NOT_READ_BACK:
            continue
        got = getattr(cfg, key, "<absent>")
        if key == "rope_parameters":
            got = (got or {}).get("hybrid", {}) if isinstance(got, dict) else got
            want = want["hybrid"]
            if not isinstance(got, dict) or any(got.get(k) != want[k] for k in want):
                raise Fail("ZayaConfig did not keep rope_parameters['hybrid'] = %s (has %r); "
                           "this transformers' Zaya config schema differs from the native one "
                           "this script expects" % (want, got))
        elif got != want and not (key == "layer_types" and list(got) == want):
            raise Fail("ZayaConfig did not keep %s = %r (has %r); this transformers' Zaya config "
                       "schema differs from the native one this script expects" % (key, want, got))
    return cfg


def load_model(args, device, dtype):
    """(model, info line): ZayaForCausalLM on device in dtype with the converted weights."""
    transformers, ZayaConfig, ZayaForCausalLM = import_transformers()
    t0 = time.perf_counter()
    legacy = read_legacy_config(args.model)
    fields = native_fields(legacy)
    ckpt = Checkpoint(args.model, args.weights)
    plan, notes = build_plan(ckpt, fields)
    for n in notes:
        print("%s: note: %s" % (PROG, n), file=sys.stderr)
    cfg = make_config(ZayaConfig, fields)
    # Built directly under the target device and default dtype (no CPU copy, no fp32 detour);
    # buffers the module creates as float32 (routing biases, rotary inv_freq) stay float32.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        if hasattr(torch.device(device), "__enter__"):         # torch >= 2.0
            with torch.device(device):
                model = ZayaForCausalLM(cfg)
        else:
            model = ZayaForCausalLM(cfg).to(device)
    finally:
        torch.set_default_dtype(previous)
    model.eval()
    if args.attn:
        model.set_attn_implementation(args.attn)
    if getattr(args, "experts", None):
        model.set_experts_implementation(args.experts)
    state = model.state_dict()                        # views of the parameters and buffers
    if "lm_head.weight" not in state and plan.get("lm_head.weight") == ("one", "model.embed_tokens.weight"):
        del plan["lm_head.weight"]                    # tied and not listed separately
    compare_layout(plan, ckpt, {k: tuple(v.shape) for k, v in state.items()},
                   "transformers' ZayaForCausalLM")
    mine = expected_layout(fields)
    if set(mine) != set(state):
        print("%s: note: the model's state dict differs from the layout this script was "
              "written for (loaded by the model's names; differences: %s)"
              % (PROG, _listing(sorted(set(mine) ^ set(state)))), file=sys.stderr)
    with torch.no_grad():                             # strict: the key sets and shapes match
        for key, (kind, src) in plan.items():
            t = ckpt.tensor(src) if kind == "one" else torch.stack([ckpt.tensor(s) for s in src])
            state[key].copy_(t)
    del state
    if device == "cuda":
        torch.cuda.synchronize()
    info = ("transformers %s, torch %s, %s, %s, attn=%s, experts=%s, %d decoder layers, "
            "loaded in %.1f s" % (transformers.__version__, torch.__version__,
                                  torch.cuda.get_device_name() if device == "cuda" else "cpu",
                                  str(dtype).replace("torch.", ""),
                                  getattr(model.config, "_attn_implementation", "?"),
                                  getattr(model.config, "_experts_implementation", "?"),
                                  fields["num_hidden_layers"], time.perf_counter() - t0))
    return model, info


def logits_of(model, ids, cache=None, **kw):
    out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1, **kw)
    return out.logits[:, -1], out.past_key_values


# ------------------------------------------------------------------------------ modes

def parse_ids(text):
    try:
        ids = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise Fail("--ids: expected comma-separated integers, got %r" % text)
    if not ids:
        raise Fail("--ids: no ids")
    return ids


def check(args):
    need_torch()
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        raise Fail("no CUDA device visible to torch %s (use --device cpu for check)" % torch.__version__)
    ids = parse_ids(args.ids)
    dtypes = {"f32": [torch.float32], "bf16": [torch.bfloat16],
              "both": [torch.float32, torch.bfloat16]}[args.dtype]
    for dtype in dtypes:
        model, info = load_model(args, device, dtype)
        print("%s: %s" % (PROG, info), file=sys.stderr)
        V = model.config.vocab_size
        if min(ids) < 0 or max(ids) >= V:
            raise Fail("--ids: ids must be in 0..%d" % (V - 1))
        label = str(dtype).replace("torch.", "")
        with torch.inference_mode():
            prompt = torch.tensor([ids], device=device)
            full = model(input_ids=prompt, use_cache=False).logits[0]
            last, cache = logits_of(model, prompt)
            toks = [int(last[0].argmax())]
            while len(toks) < args.tokens:
                lg, cache = logits_of(model, torch.tensor([[toks[-1]]], device=device), cache)
                toks.append(int(lg[0].argmax()))
            seq = torch.tensor([ids + toks[:-1]], device=device)
            ref = model(input_ids=seq, use_cache=False).logits[0, len(ids) - 1:].argmax(-1).tolist()
        agree = sum(a == b for a, b in zip(ref, toks))
        print("hf check %s: prefill argmax per position: %s" % (label, " ".join(map(str, full.argmax(-1).tolist()))))
        print("hf check %s: last-position argmax: %d" % (label, toks[0]))
        print("hf check %s: greedy %d tokens: %s" % (label, len(toks), " ".join(map(str, toks))))
        print("hf check %s: no-cache forward agrees with the cached steps on %d of %d tokens"
              % (label, agree, len(toks)))
        del model, cache
        if device == "cuda":
            torch.cuda.empty_cache()
    w = " --weights %s" % args.weights if args.weights else ""
    print("compare: ./zeval generate --model %s%s --ids %s --max-tokens %d --ignore-eos --skip-output zero"
          % (args.model, w, ",".join(map(str, ids)), args.tokens))
    return 0


def bench(args):
    need_torch()
    if not torch.cuda.is_available():
        raise Fail("no CUDA device visible to torch %s; bench needs a GPU" % torch.__version__)
    try:
        if args.runs:
            runs = [tuple(int(v) for v in x.split(":")) for x in args.runs.split(",") if x.strip()]
            if any(len(r) != 2 for r in runs):
                raise ValueError
        else:
            runs = [(args.batch, int(x)) for x in args.context.split(",") if x.strip()]
    except ValueError:
        raise Fail("--context: expected comma-separated integers, --runs B:L pairs; got %r"
                   % (args.runs or args.context))
    if not runs or min(min(r) for r in runs) < 1 or args.tokens < 1 or args.warmup < 0:
        raise Fail("--context, --runs, --tokens and --batch must be at least 1, --warmup at least 0")
    model, info = load_model(args, "cuda", torch.bfloat16)
    print("%s: %s" % (PROG, info), file=sys.stderr)
    weights_gib = torch.cuda.memory_allocated() / 2**30
    step = model
    if args.static:
        import transformers
        if not hasattr(transformers, "StaticCache"):
            raise Fail("this transformers has no StaticCache")
        if args.compile_mode != "none":
            print("%s: --static: torch.compile(mode=%s) of the decode step (the Zaya port sets "
                  "_can_compile_fullgraph=%s)" % (PROG, args.compile_mode,
                                                  getattr(model, "_can_compile_fullgraph", "?")),
                  file=sys.stderr)
            step = torch.compile(model, mode=args.compile_mode)
    V, bos = model.config.vocab_size, getattr(model.config, "bos_token_id", None)
    status = 0
    for B, L in runs:
        torch.manual_seed(args.seed)
        ids = torch.randint(0, V, (B, L))
        if bos is not None:
            ids[:, 0] = bos
        ids = ids.cuda()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        warm = max(args.warmup, 3) if args.static and args.compile_mode != "none" else args.warmup
        try:
            with torch.inference_mode():
                cache, extra = None, {}
                if args.static:
                    import transformers
                    cache = transformers.StaticCache(config=model.config, max_batch_size=B,
                                                     max_cache_len=L + warm + args.tokens + 1)
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                last, cache = logits_of(model, ids, cache)             # prefill, not compiled
                nxt = last.argmax(-1, keepdim=True)
                torch.cuda.synchronize()
                prefill = time.perf_counter() - t0
                pos = L
                for i in range(warm + args.tokens):
                    if i == warm:
                        torch.cuda.synchronize()
                        t0 = time.perf_counter()
                    if args.static:
                        extra["position_ids"] = torch.full((B, 1), pos, device="cuda")
                    last, cache = logits_of(step, nxt, cache, **extra)
                    nxt = last.argmax(-1, keepdim=True)
                    pos += 1
                torch.cuda.synchronize()
                sec = time.perf_counter() - t0
        except torch.cuda.OutOfMemoryError:
            print("hf decode %scontext %d: out of CUDA memory" % (label(B), L))
            status = 1
            continue
        except Exception as e:
            if not args.static or args.traceback:
                raise
            print("hf decode %scontext %d: --static failed (%s: %s)"
                  % (label(B), L, type(e).__name__, (str(e).splitlines() or [""])[0][:300]))
            status = 1
            continue
        del cache
        print("hf decode %scontext %d: %.2f tok/s, %.2f ms/step, peak CUDA memory %.2f GiB "
              "(weights %.2f GiB; prefill %.2f s; %d timed steps after %d warm-up; %s cache)"
              % (label(B), L, B * args.tokens / sec, 1e3 * sec / args.tokens,
                 torch.cuda.max_memory_allocated() / 2**30, weights_gib, prefill, args.tokens,
                 warm, "static" if args.static else "dynamic"))
        sys.stdout.flush()
    return status


def label(B):
    return "" if B == 1 else "batch %d, " % B


def gemm(args):
    """The bf16 GEMM rate torch reaches on this GPU (cuBLAS): n x n x n, best of --reps."""
    need_torch()
    if not torch.cuda.is_available():
        raise Fail("no CUDA device visible to torch %s; gemm needs a GPU" % torch.__version__)
    n = args.n
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    best = 0.0
    for i in range(args.reps + 1):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(4):
            torch.matmul(a, b)
        torch.cuda.synchronize()
        sec = (time.perf_counter() - t0) / 4
        if i > 0:
            best = max(best, 2.0 * n ** 3 / sec / 1e12)
    print("torch bf16 GEMM %d^3: %.1f TFLOP/s (%s, torch %s, best of %d)"
          % (n, best, torch.cuda.get_device_name(), torch.__version__, args.reps))
    return 0


def plan_mode(args):
    fields = native_fields(read_legacy_config(args.model))
    ckpt = Checkpoint(args.model, args.weights)
    plan, notes = build_plan(ckpt, fields)
    for n in notes:
        print("note: %s" % n)
    compare_layout(plan, ckpt, expected_layout(fields), "the expected native layout")
    print("native ZayaConfig fields:")
    for k in sorted(fields):
        v = fields[k]
        if k == "layer_types":
            v = "%s x %d" % (sorted(set(v)), len(v))
        print("  %s = %s" % (k, v))
    print("tensor mapping (decoder layers 0 and %d shown; %d native tensors from %d stored):"
          % (fields["num_hidden_layers"] - 1, len(plan), len(ckpt.names())))
    last = "model.layers.%d." % (fields["num_hidden_layers"] - 1)
    for key in sorted(plan):
        if key.startswith("model.layers.") and not key.startswith(("model.layers.0.", last)):
            continue
        kind, src = plan[key]
        src = src if kind == "one" else "stack(%s .. %s)" % (src[0], src[-1].split(".local_experts.")[1])
        print("  %-62s %-16s <- %s" % (key, list(plan_shape(ckpt, plan[key])), src))
    print("plan: OK")
    return 0


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gemm")
    g.add_argument("--n", type=int, default=8192, help="matrix size (default 8192)")
    g.add_argument("--reps", type=int, default=5, help="timed repetitions (default 5)")
    g.add_argument("--traceback", action="store_true", help="show tracebacks of unexpected errors")
    for name in ("check", "bench", "plan"):
        p = sub.add_parser(name)
        p.add_argument("--model", required=True, help="checkpoint directory (zeval init-model)")
        p.add_argument("--weights", help="one safetensors file to use instead of the directory's")
        p.add_argument("--traceback", action="store_true", help="show tracebacks of unexpected errors")
        if name == "plan":
            continue
        p.add_argument("--attn", help="attention implementation (default: transformers' choice, sdpa)")
        p.add_argument("--experts", help="experts implementation (default: transformers' choice)")
        if name == "check":
            p.add_argument("--ids", default="2,17,300,45", help="prompt ids (default 2,17,300,45)")
            p.add_argument("--tokens", type=int, default=8, help="greedy tokens (default 8)")
            p.add_argument("--dtype", choices=("f32", "bf16", "both"), default="both")
            p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
        else:
            p.add_argument("--context", default="1024,16384", help="prompt lengths (default 1024,16384)")
            p.add_argument("--tokens", type=int, default=32, help="timed decode steps (default 32)")
            p.add_argument("--warmup", type=int, default=1, help="untimed decode steps (default 1)")
            p.add_argument("--seed", type=int, default=1)
            p.add_argument("--batch", type=int, default=1,
                           help="sequences decoded together (default 1); tok/s counts all of them")
            p.add_argument("--runs", help="B:L pairs, e.g. 1:1024,64:4096 (batch B at context L; "
                           "instead of --batch and --context, one model load for all)")
            p.add_argument("--static", action="store_true",
                           help="StaticCache + torch.compile of the decode step (experimental)")
            p.add_argument("--compile-mode", default="default",
                           choices=("none", "default", "reduce-overhead", "max-autotune-no-cudagraphs"),
                           help="torch.compile mode with --static (none: static cache only)")
    args = ap.parse_args()
    if getattr(args, "tokens", 1) < 1:
        ap.error("--tokens must be at least 1")
    try:
        return {"check": check, "bench": bench, "plan": plan_mode, "gemm": gemm}[args.cmd](args)
    except Fail as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("%s: interrupted" % PROG, file=sys.stderr)
        return 130
    except Exception as e:
        if args.traceback:
            raise
        if torch is not None and isinstance(e, torch.cuda.OutOfMemoryError):
            print("%s: out of CUDA memory (%s)" % (PROG, str(e).splitlines()[0]), file=sys.stderr)
            return 1
        first = (str(e).splitlines() or [""])[0][:400]
        print("%s: %s: %s (rerun with --traceback for details)" % (PROG, type(e).__name__, first),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
