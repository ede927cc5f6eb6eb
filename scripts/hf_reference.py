#!/usr/bin/env python3
"""Reference outputs of Hugging Face transformers for a checkpoint folder.

    python scripts/hf_reference.py --model DIR --prompts PROMPTS.json --max-new-tokens N \
        --out OUT.json [--threads N] [--gguf-file NAME]

--gguf-file loads DIR/NAME with transformers' GGUF loader (needs the gguf and accelerate
packages), which dequantizes every tensor to float32 the way gguf-py defines each type.

PROMPTS.json: [{"name": "short", "text": "Once upon a time"}, {"name": "long", "ids": [1, 2, ...]}]
Text is tokenized with the model's AutoTokenizer (default add_special_tokens).

The model always runs in float32 with eager attention whatever the checkpoint dtype, so the
outputs are what an exact f32 implementation of the architecture computes. Per case it records the
last prompt position's logits, exactly N greedy tokens (argmax, no EOS stop) decoded with the KV
cache, the top-1 minus top-2 logit margin of every greedy step (how safe comparing argmaxes is),
and timings.

Logits are written as the shortest decimal that reads back as the same float32 (parse as a double,
then round to float32: Math.fround / np.float32).
"""

import argparse
import hashlib
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

SCHEMA = "rabbit-bench/hf-reference@1"


def f32_list(t: torch.Tensor) -> list:
    out = []
    for x in t.detach().to(torch.float32).cpu().numpy():
        short = float(str(x))
        # str() of a float32 is its shortest round-trip form; the check guards the double rounding.
        out.append(short if np.float32(short) == x else float(x))
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def peak_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB


def top2_margin(logits: torch.Tensor) -> torch.Tensor:
    top = torch.topk(logits, 2).values
    return top[0] - top[1]


def dumps(value, indent: str = "") -> str:
    """JSON with objects spread over lines but lists of numbers on one line: small and diffable."""
    inner = indent + " "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {dumps(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + dumps(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, separators=(",", ":"))


@torch.inference_mode()
def run_case(model, tokenizer, case: dict, max_new_tokens: int) -> dict:
    if "ids" in case:
        ids = [int(i) for i in case["ids"]]
        text = None
    else:
        if tokenizer is None:
            raise SystemExit(f"case {case['name']!r} gives text but the model has no tokenizer")
        text = case["text"]
        ids = tokenizer(text)["input_ids"]
    vocab = model.config.vocab_size
    if not ids or min(ids) < 0 or max(ids) >= vocab:
        raise SystemExit(f"case {case['name']!r}: prompt ids must be non-empty and in [0, {vocab})")

    t0 = time.perf_counter()
    out = model(torch.tensor([ids]), use_cache=True)
    prefill_s = time.perf_counter() - t0
    last_logits = out.logits[0, -1].float()
    if not torch.isfinite(last_logits).all():
        raise SystemExit(f"case {case['name']!r}: the model produced non-finite logits")
    cache = out.past_key_values

    tokens, margins = [], []
    logits = last_logits
    t0 = time.perf_counter()
    for step in range(max_new_tokens):
        nxt = int(torch.argmax(logits))
        tokens.append(nxt)
        margins.append(top2_margin(logits))
        if step + 1 < max_new_tokens:  # the last token needs no forward pass
            out = model(torch.tensor([[nxt]]), past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            logits = out.logits[0, -1].float()
            if not torch.isfinite(logits).all():
                raise SystemExit(f"case {case['name']!r}: the model produced non-finite logits at decode step {step + 1}")
    decode_s = time.perf_counter() - t0

    return {
        "name": case["name"],
        "prompt_text": text,
        "prompt_ids": ids,
        "max_new_tokens": max_new_tokens,
        "last_logits": f32_list(last_logits),
        "greedy_tokens": tokens,
        "greedy_margins": f32_list(torch.stack(margins)) if margins else [],
        "timings": {
            "prefill_s": prefill_s,
            "decode_s": decode_s,
            "decode_tokens": max(max_new_tokens - 1, 0),
            "peak_rss_bytes": peak_rss_bytes(),
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--prompts", required=True, type=Path)
    ap.add_argument("--max-new-tokens", required=True, type=int)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--gguf-file", default=None, help="a GGUF file in --model to load instead of safetensors")
    args = ap.parse_args()
    if args.max_new_tokens < 0:
        raise SystemExit("--max-new-tokens must be >= 0")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    model_dir = args.model.resolve()
    gguf = {"gguf_file": args.gguf_file} if args.gguf_file else {}
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager", **gguf)
    model.eval()
    has_tokenizer = args.gguf_file or (model_dir / "tokenizer.json").exists() or (model_dir / "tokenizer.model").exists()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, **gguf) if has_tokenizer else None
    weights = [model_dir / args.gguf_file] if args.gguf_file else sorted(model_dir.glob("*.safetensors"))

    cases = json.loads(args.prompts.read_text())
    result = {
        "schema": SCHEMA,
        "model": model_dir.name,
        "model_files_sha256": {p.name: sha256(p) for p in weights},
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "dtype": "float32",
        "attn_implementation": "eager",
        "cases": [run_case(model, tokenizer, c, args.max_new_tokens) for c in cases],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dumps(result) + "\n")


if __name__ == "__main__":
    main()
