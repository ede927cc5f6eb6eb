#!/usr/bin/env python3
"""sha256 of every tensor of GGUF files as gguf-py dequantizes it (float32, little-endian).

    python scripts/gguf_dequant_hashes.py --out OUT.json FILE.gguf...

gguf-py's dequantize is the reference transformers' GGUF loader uses; equal hashes mean the
engine's dequantization gives the same float32 values, bit for bit.
"""

import argparse
import hashlib
import json
from pathlib import Path

import gguf
import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("files", nargs="+", type=Path)
    args = ap.parse_args()
    result = {"gguf_version": getattr(gguf, "__version__", "unknown"), "files": {}}
    for path in args.files:
        reader = gguf.GGUFReader(path)
        tensors = {}
        for t in reader.tensors:
            values = gguf.dequantize(t.data, t.tensor_type).astype("<f4").reshape(-1)
            tensors[t.name] = {"type": t.tensor_type.name, "sha256": hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()}
        result["files"][path.name] = tensors
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
