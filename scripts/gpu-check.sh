#!/usr/bin/env bash
# GPU verification of the CUDA backend, for a session that has a CUDA machine.
#
#   bash scripts/gpu-check.sh pack            # here (no GPU needed): bundle what the GPU machine lacks
#   bash scripts/gpu-check.sh run [STAGE...]  # on the GPU machine: build, test, verify, measure
#
# The GPU machine of this workplace has nvcc, CMake and ninja but no Node and no network, so
# `pack` puts a Node runtime, the npm dependencies (this platform's binaries only), the compiled
# CLI (dist/) and stories260K into build/gpu-check/ (ignored by git, ~35 MiB). Carry that folder:
#   device run: carry ["build/gpu-check"], command "bash scripts/gpu-check.sh run"
#
# Stages of `run` (default: all, in this order):
#   build      cmake with RB_CUDA=ON (nvcc required) into build/Release, timed
#   tests      vitest test/cuda: the GPU suite (every fixture vs its HF golden in all six transfer
#              configurations, CUDA vs CPU tokens and logits, faults, VRAM, the OOM message), plus
#              the status, CLI, emulated-device and emulated-kernel suites
#   parity     dist/bench/cuda/gpu-check.js over every fixture and stories260K: CUDA vs the HF
#              goldens and vs the CPU engine, per configuration -> results/<date>-gpu-check-cuda.json
#              (again with RABBIT_BENCH_CUDA_GEMM=own when the build uses cuBLAS)
#   crossover  cpu-vs-cuda over the shapes (GPU_CHECK_SHAPES, cut to GPU_CHECK_LAYERS layers)
#              -> results/<date>-cpu-vs-cuda-shapes.{json,csv,md}: the crossover table
#   transfer   profile --device cuda on one shape with pinned memory and async transfer on/off
#              (RabbitLLM's four configurations) -> results/<date>-profile-*.json
# Everything it writes under results/ is also copied to $OUT (when set), packed to fit the
# device tool's limit of 8 files.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BUNDLE="$ROOT/build/gpu-check"
OUT_DIR="${OUT:-}"
SHAPES="${GPU_CHECK_SHAPES:-smollm2-135m,qwen2.5-0.5b,qwen3-0.6b,llama-3.2-1b,mistral-7b,qwen2.5-7b}"
LAYERS="${GPU_CHECK_LAYERS:-4}"
TRANSFER_SHAPE="${GPU_CHECK_TRANSFER_SHAPE:-mistral-7b}"
STORIES="$ROOT/../shared/models/stories260K"

log() { printf 'gpu-check: %s\n' "$*" >&2; }

pack() {
  command -v node >/dev/null || { log "pack needs node"; exit 2; }
  [[ -d node_modules ]] || { log "run npm install first"; exit 2; }
  npx tsc -p tsconfig.json
  rm -rf "$BUNDLE" && mkdir -p "$BUNDLE"
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  log "node runtime ($(node --version))"
  mkdir -p "$tmp/node/bin" && cp "$(readlink -f "$(command -v node)")" "$tmp/node/bin/node"
  tar -C "$tmp" -cf - node | xz -6 -T0 >"$BUNDLE/node.tar.xz"
  log "npm dependencies (linux-x64 binaries only, no typescript)"
  # A real copy (node_modules may be a link): what follows deletes inside it.
  mkdir -p "$tmp/nm" && cp -r "$(readlink -f node_modules)" "$tmp/nm/node_modules"
  if [[ -L "$tmp/nm/node_modules" || ! -d "$tmp/nm/node_modules/vitest" ]]; then log "could not copy node_modules"; return 1; fi
  rm -rf "$tmp/nm/node_modules/typescript" "$tmp/nm/node_modules/@types"
  find "$tmp/nm/node_modules/tokenizers" -name '*.node' ! -name '*linux-x64-gnu*' -delete
  for d in "$tmp/nm/node_modules/@esbuild" "$tmp/nm/node_modules/@rollup"; do
    [[ -d "$d" ]] && find "$d" -mindepth 1 -maxdepth 1 ! -name '*linux-x64*' -exec rm -rf {} +
  done
  tar -C "$tmp/nm" -cf - node_modules | xz -6 -T0 >"$BUNDLE/node_modules.tar.xz"
  tar -cf - dist | xz -6 -T0 >"$BUNDLE/dist.tar.xz"
  if [[ -f "$STORIES/model.safetensors" ]]; then
    tar -C "$STORIES/.." -cf - stories260K | xz -6 -T0 >"$BUNDLE/stories260K.tar.xz"
  else
    log "warning: $STORIES is absent; the GPU run will skip stories260K"
  fi
  du -sh "$BUNDLE" >&2
  log "carry [\"build/gpu-check\"] and run: bash scripts/gpu-check.sh run"
}

setup() {
  if ! command -v node >/dev/null; then
    [[ -f "$BUNDLE/node.tar.xz" ]] || { log "no node here and no $BUNDLE/node.tar.xz: run 'bash scripts/gpu-check.sh pack' first and carry build/gpu-check"; exit 2; }
    mkdir -p /tmp/rb-node && tar -C /tmp/rb-node -xJf "$BUNDLE/node.tar.xz"
    export PATH="/tmp/rb-node/node/bin:$PATH"
  fi
  [[ -d node_modules ]] || tar -xJf "$BUNDLE/node_modules.tar.xz"
  [[ -d dist ]] || tar -xJf "$BUNDLE/dist.tar.xz"
  if [[ ! -f "$STORIES/model.safetensors" && -f "$BUNDLE/stories260K.tar.xz" ]]; then
    mkdir -p "$ROOT/../shared/models" && tar -C "$ROOT/../shared/models" -xJf "$BUNDLE/stories260K.tar.xz"
  fi
  log "node $(node --version); $(command -v nvcc >/dev/null && nvcc --version | tail -1 || echo 'no nvcc')"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 || true
}

# Stages run inside `if`, where bash ignores set -e: each one returns its first failure itself.
stage_build() {
  local t0=$SECONDS
  mkdir -p results
  cmake -S native -B build/gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DRB_CUDA=ON \
    -DCMAKE_JS_INC="$ROOT/node_modules/node-api-headers/include" \
    -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$ROOT/build/Release" \
    -DCMAKE_CXX_FLAGS=-DBUILDING_NODE_EXTENSION >results/gpu-check-build.log 2>&1 || { tail -30 results/gpu-check-build.log >&2; return 1; }
  cmake --build build/gpu -j "$(nproc)" >>results/gpu-check-build.log 2>&1 || { tail -30 results/gpu-check-build.log >&2; return 1; }
  echo "build: $((SECONDS - t0)) s (engine + CUDA backend)" | tee -a results/gpu-check-build.log >&2
  grep -E 'CUDA backend:' results/gpu-check-build.log >&2 || true
  node -e "const s = require('./build/Release/rabbit_native.node').cudaStatus(); console.error(JSON.stringify(s)); if (!s.available) process.exit(2)"
}

stage_tests() {
  RB_VITEST_JSON="$ROOT/results/gpu-check-vitest.json" node node_modules/vitest/vitest.mjs run test/cuda || return 1
}

ensure_fixtures() {
  [[ -d test/.fixtures ]] || node node_modules/vitest/vitest.mjs run test/cuda/emulated-device.test.ts >/dev/null
}

stage_parity() {
  ensure_fixtures || return 1
  local models=(test/.fixtures/*/)
  [[ -f "$STORIES/model.safetensors" ]] && models+=("$STORIES")
  local status=0
  node dist/bench/cuda/gpu-check.js --out results "${models[@]}" || status=$?
  if node -e "process.exit(require('./build/Release/rabbit_native.node').cudaStatus().cublas ? 0 : 1)"; then
    log "again with the own GEMM kernels instead of cuBLAS"
    RABBIT_BENCH_CUDA_GEMM=own node dist/bench/cuda/gpu-check.js --out results "${models[@]}" || status=$?
  fi
  return $status
}

stage_crossover() {
  node test/cuda/cpu-vs-cuda-cli.mjs cpu-vs-cuda --shapes "$SHAPES" --layers "$LAYERS" --runs 2 --warmup 1 \
    --max-new-tokens 16 --prompt-tokens 64 --require-cuda --no-measure-env --out results || return 1
}

stage_transfer() {
  local dir
  dir="$(node --input-type=module -e "
    const { ensureShapeModel } = await import('./dist/bench/synth/models.js');
    console.log(ensureShapeModel({ shape: '$TRANSFER_SHAPE', layers: $LAYERS, dtype: 'bfloat16' }, (l) => console.error(l)).path);")" || return 1
  for flags in "" "--no-pin-memory" "--no-async-transfer" "--no-pin-memory --no-async-transfer"; do
    log "profile --device cuda $flags ($TRANSFER_SHAPE, $LAYERS layers)"
    # shellcheck disable=SC2086
    node dist/bench/cli.js profile --model "$dir" --device cuda $flags --runs 2 --warmup 1 --no-measure-env --out results || return 1
  done
}

collect() {
  [[ -n "$OUT_DIR" ]] || return 0
  local files=()
  while IFS= read -r f; do files+=("$f"); done < <(ls -t results/*gpu-check-cuda*.json results/*cpu-vs-cuda-shapes*.md results/*cpu-vs-cuda-shapes*.json results/gpu-check-vitest.json 2>/dev/null | head -6)
  ((${#files[@]})) && cp "${files[@]}" "$OUT_DIR/"
  find results -type f -newer "$STARTED" -print0 | tar -czf "$OUT_DIR/results.tar.gz" --null -T -
  log "copied ${#files[@]} files and results.tar.gz to $OUT_DIR"
}

case "${1:-}" in
  pack) pack ;;
  run)
    shift
    stages=("$@")
    ((${#stages[@]})) || stages=(build tests parity crossover transfer)
    setup
    mkdir -p results
    STARTED="$(mktemp)"  # files under results/ newer than this are this run's
    failed=()
    for s in "${stages[@]}"; do
      log "stage $s"
      if ! "stage_$s"; then failed+=("$s"); [[ "$s" == build ]] && break; fi
    done
    collect
    if ((${#failed[@]})); then log "FAILED: ${failed[*]}"; exit 1; fi
    log "all stages passed: ${stages[*]}"
    ;;
  *) sed -n '2,25p' "$0" >&2; exit 2 ;;
esac
