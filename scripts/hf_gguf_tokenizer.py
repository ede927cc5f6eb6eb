#!/usr/bin/env python3
"""Token ids of texts from transformers' own tokenizer for a GGUF file.

    python scripts/hf_gguf_tokenizer.py --gguf FILE --texts TEXTS.json --out OUT.json

TEXTS.json: a list of strings. OUT.json: {"transformers_version", "file", "cases": [{"text",
"ids"}]}, the ids without special tokens added (transformers' GGUF tokenizer adds none anyway;
whether a BOS goes first is a separate rule, see bench/model/gguf/tokenizer.ts).
"""

import argparse
import json
from pathlib import Path

import transformers
from transformers import AutoTokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", required=True, type=Path)
    ap.add_argument("--texts", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    path = args.gguf.resolve()
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    texts = json.loads(args.texts.read_text())
    cases = [{"text": t, "ids": tokenizer(t, add_special_tokens=False)["input_ids"]} for t in texts]
    result = {"transformers_version": transformers.__version__, "file": path.name, "cases": cases}
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
