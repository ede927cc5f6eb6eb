#!/usr/bin/env python3
"""Greedy HumanEval completions from Hugging Face transformers, to compare with the engine's.

    python scripts/hf_humaneval.py --model DIR --cases CASES.json --out OUT.json [--threads N]

CASES.json (written by `rabbit-bench humaneval --hf-compare`):
    {"max_new_tokens": N, "style": "base" | "chat", "stop": ["\\ndef", ...], "eos_token_ids": [2],
     "cases": [{"task_id": "HumanEval/0", "prompt_ids": [1, ...]}, ...]}

The prompt ids come from the CLI, so both sides start from the same tokens. The model runs in
float32 with eager attention and a KV cache. After each greedy (argmax) token the script stops
when the token is an EOS id, or when the completion so far is complete by the rules of
bench/humaneval/completion.ts: the text the tokens add to the prompt (decode(prompt + tokens)
minus decode(prompt)) holds a stop sequence (base) or a closing code fence (chat). The token that
completed it is kept, as the CLI keeps it.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

SCHEMA = "rabbit-bench/hf-humaneval@1"
FENCE = "```"


def decode(tokenizer, ids: list) -> str:
    # No clean-up of spaces: the CLI decodes with the raw `tokenizers` decoder.
    return tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def continuation(tokenizer, prompt_ids: list, prompt_text: str, tokens: list) -> str:
    text = decode(tokenizer, prompt_ids + tokens)
    return text[len(prompt_text):] if text.startswith(prompt_text) else decode(tokenizer, tokens)


def is_complete(text: str, style: str, stops: list) -> bool:
    if style == "chat":
        return text.count(FENCE) >= 2
    return any(s in text for s in stops)


def completion_text(text: str, style: str, stops: list) -> str:
    if style == "chat":
        start = text.find(FENCE)
        if start < 0:
            return text
        line_end = text.find("\n", start)
        body = "" if line_end < 0 else text[line_end + 1:]
        end = body.find(FENCE)
        return "\n" + (body if end < 0 else body[:end])
    cuts = [i for i in (text.find(s) for s in stops) if i >= 0]
    return text[: min(cuts)] if cuts else text


@torch.inference_mode()
def run_case(model, tokenizer, case: dict, spec: dict) -> dict:
    prompt_ids = [int(i) for i in case["prompt_ids"]]
    prompt_text = decode(tokenizer, prompt_ids)
    eos = set(spec["eos_token_ids"])
    out = model(torch.tensor([prompt_ids]), use_cache=True)
    tokens, reason, text = [], "max_new_tokens", ""
    while len(tokens) < spec["max_new_tokens"]:
        nxt = int(torch.argmax(out.logits[0, -1].float()))
        tokens.append(nxt)
        text = continuation(tokenizer, prompt_ids, prompt_text, tokens)
        if nxt in eos:
            reason = "eos"
        elif is_complete(text, spec["style"], spec["stop"]):
            reason = "stop_sequence"
        if reason != "max_new_tokens" or len(tokens) == spec["max_new_tokens"]:
            break
        out = model(torch.tensor([[nxt]]), past_key_values=out.past_key_values, use_cache=True)
    return {
        "task_id": case["task_id"],
        "prompt_ids": prompt_ids,
        "tokens": tokens,
        "stop_reason": reason,
        "completion": completion_text(text, spec["style"], spec["stop"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--cases", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--gguf-file", default=None, help="a GGUF file in --model to load instead of safetensors")
    args = ap.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    spec = json.loads(args.cases.read_text())
    transformers.utils.logging.disable_progress_bar()
    model_dir = args.model.resolve()
    gguf = {"gguf_file": args.gguf_file} if args.gguf_file else {}
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager", **gguf)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, **gguf)

    cases, started = [], time.perf_counter()
    for i, case in enumerate(spec["cases"]):
        cases.append(run_case(model, tokenizer, case, spec))
        if (i + 1) % 10 == 0 or i + 1 == len(spec["cases"]):
            print(f"hf_humaneval: {i + 1}/{len(spec['cases'])} {case['task_id']} "
              f"({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    result = {
        "schema": SCHEMA,
        "model": model_dir.name,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "max_new_tokens": spec["max_new_tokens"],
        "style": spec["style"],
        "stop": spec["stop"],
        "eos_token_ids": spec["eos_token_ids"],
        "cases": cases,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
