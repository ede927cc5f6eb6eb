#!/usr/bin/env bash
# Creates .venv-hf (or $HF_VENV) with torch (CPU) and transformers for scripts/hf_reference.py
# and scripts/make-goldens.ts. Nothing else needs it: without it the committed goldens in
# test/golden/ are used as they are.
#
# Package indexes: where pip is configured with local (file://) indexes, the first is passed as
# --index-url and the others as --extra-index-url, so pip never waits on an unreachable PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${HF_VENV:-.venv-hf}
PYTHON=${PYTHON:-python3}
PACKAGES=(torch==2.13.0 transformers safetensors tokenizers gguf accelerate)

fail() {
  echo "setup-hf-venv: $*" >&2
  echo "setup-hf-venv: no HF reference environment; the committed goldens in test/golden/ will be used." >&2
  exit 1
}

command -v "$PYTHON" >/dev/null || fail "$PYTHON not found"
"$PYTHON" -m venv "$VENV" || fail "could not create $VENV (is the python3-venv package installed?)"

index=()
extra=()
while IFS= read -r line; do
  key=${line%%=*}
  value=${line#*=}
  value=${value#\'}
  value=${value%\'}
  # One setting may hold several space-separated URLs.
  case "$key" in
    *.extra-index-url) read -ra urls <<<"$value"; extra+=("${urls[@]}") ;;
    *.index-url) read -ra urls <<<"$value"; index+=("${urls[@]}") ;;
  esac
done < <("$VENV/bin/pip" config list 2>/dev/null || true)

args=()
for url in "${index[@]}" "${extra[@]}"; do
  [[ $url == file://* ]] || continue
  if ((${#args[@]} == 0)); then args+=(--index-url "$url"); else args+=(--extra-index-url "$url"); fi
done

echo "setup-hf-venv: installing ${PACKAGES[*]} into $VENV ${args[*]}"
"$VENV/bin/pip" install "${args[@]}" "${PACKAGES[@]}" || fail "pip install failed"
"$VENV/bin/python" -c 'import torch, transformers, safetensors, tokenizers' || fail "installed packages do not import"
"$VENV/bin/python" -c 'import torch, transformers; print(f"setup-hf-venv: ready: torch {torch.__version__}, transformers {transformers.__version__}")'
