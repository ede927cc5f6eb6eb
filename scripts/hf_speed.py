#!/usr/bin/env python3
"""Hugging Face transformers' prefill and decode speed on CPU, for npm run bench:vs-hf.

    python scripts/hf_speed.py --model DIR --attn eager|sdpa --prompt-file IDS.json \
        --decode-tokens N --threads N
    python scripts/hf_speed.py --versions

One measurement per process, so the peak RSS is this configuration's own. The model is loaded
in float32 whatever the checkpoint dtype (as the engine computes in f32), with the given
attention implementation and torch.set_num_threads(N). Under torch.inference_mode: a warm-up
(the same prompt, one decode step), then the timed prefill of the prompt (a forward with the KV
cache, logits of the last position only when this transformers supports logits_to_keep, as
generate() does; plus the argmax of the first token) and N timed greedy decode steps with
past_key_values (forward + argmax each). Prints one JSON document on stdout (schema
rabbit-bench/hf-speed@1).
"""

import argparse
import inspect
import json
import resource
import sys
import time
from pathlib import Path

SCHEMA = "rabbit-bench/hf-speed@1"


def peak_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def dtype_kwarg(transformers) -> str:
    """transformers 4.56 renamed from_pretrained's torch_dtype to dtype (torch_dtype is deprecated)."""
    major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def generate(model, torch, ids: list, decode_tokens: int, keep: dict) -> dict:
    t0 = time.perf_counter()
    out = model(input_ids=torch.tensor([ids]), use_cache=True, **keep)
    nxt = int(torch.argmax(out.logits[0, -1]))
    prefill_s = time.perf_counter() - t0
    cache = out.past_key_values
    tokens = [nxt]
    t0 = time.perf_counter()
    for _ in range(decode_tokens):
        out = model(input_ids=torch.tensor([[nxt]]), past_key_values=cache, use_cache=True)
        cache = out.past_key_values
        nxt = int(torch.argmax(out.logits[0, -1]))
        tokens.append(nxt)
    decode_s = time.perf_counter() - t0
    return {"prefill_s": prefill_s, "decode_s": decode_s, "tokens": tokens}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--versions", action="store_true", help="print torch and transformers versions as JSON and exit")
    ap.add_argument("--model", type=Path)
    ap.add_argument("--attn", choices=["eager", "sdpa"])
    ap.add_argument("--prompt-file", type=Path)
    ap.add_argument("--decode-tokens", type=int)
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()

    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    if args.versions:
        print(json.dumps({"torch_version": torch.__version__, "transformers_version": transformers.__version__,
                          "torch_threads_default": torch.get_num_threads()}))
        return
    if None in (args.model, args.attn, args.prompt_file, args.decode_tokens, args.threads):
        ap.error("--model, --attn, --prompt-file, --decode-tokens and --threads are required")
    if args.decode_tokens < 1 or args.threads < 1:
        ap.error("--decode-tokens and --threads must be >= 1")

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    ids = [int(i) for i in json.loads(args.prompt_file.read_text())]

    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(
        args.model.resolve(), attn_implementation=args.attn, **{dtype_kwarg(transformers): torch.float32})
    model.eval()
    load_s = time.perf_counter() - t0
    wrong = {str(p.dtype) for p in model.parameters() if p.dtype != torch.float32}
    if wrong:
        raise SystemExit(f"model loaded with {sorted(wrong)} parameters, not float32")
    if model.config._attn_implementation != args.attn:
        raise SystemExit(f"asked for attn_implementation={args.attn}, got {model.config._attn_implementation}")
    vocab = model.config.vocab_size
    if not ids or min(ids) < 0 or max(ids) >= vocab:
        raise SystemExit(f"prompt ids must be non-empty and in [0, {vocab})")

    keep = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
    with torch.inference_mode():
        generate(model, torch, ids, 1, keep)  # warm-up: same shapes, one decode step
        timed = generate(model, torch, ids, args.decode_tokens, keep)

    print(json.dumps({
        "schema": SCHEMA,
        "attn_implementation": args.attn,
        "dtype": "float32",
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "logits_to_keep": bool(keep),
        "prompt_tokens": len(ids),
        "decode_tokens": args.decode_tokens,
        "load_s": load_s,
        "prefill_s": timed["prefill_s"],
        "decode_s": timed["decode_s"],
        "peak_rss_bytes": peak_rss_bytes(),
        "cpu_s": cpu_seconds(),
        "tokens": timed["tokens"],
    }))


if __name__ == "__main__":
    main()
