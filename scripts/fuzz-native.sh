#!/usr/bin/env bash
# Builds native/fuzz/checkpoint_fuzz.cpp with libFuzzer, AddressSanitizer and UBSan (clang from
# Debian: apt-get install clang libclang-rt-dev) and runs it for SECONDS (default 60) from the committed seed
# corpus. A finding stops the run with a non-zero exit; its input is saved under build-fuzz/.
#   scripts/fuzz-native.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=build-fuzz
mkdir -p "$out/corpus"
command -v clang++ >/dev/null || { echo "fuzz-native: clang++ is missing (apt-get install clang libclang-rt-dev)" >&2; exit 2; }
clang++ -std=c++17 -O1 -g -fno-omit-frame-pointer -ffp-contract=off \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Inative/src native/fuzz/checkpoint_fuzz.cpp native/src/engine/checkpoint_reader.cpp native/src/engine/dtype.cpp \
  native/src/engine/model.cpp native/src/engine/worker_pool.cpp native/src/quant/quantize.cpp -pthread -o "$out/checkpoint_fuzz"
# New inputs go to build-fuzz/corpus; native/fuzz/corpus (committed) seeds every run. libFuzzer's
# progress (thousands of lines) goes to a log, so a CI log keeps what matters: the finding.
log="$out/fuzz.log"
if "$out/checkpoint_fuzz" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$out/" \
  "$out/corpus" native/fuzz/corpus >"$log" 2>&1; then
  grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log" || true
else
  status=$?
  echo "fuzz-native: a finding (exit $status); the end of $log:" >&2
  tail -n 80 "$log" >&2
  exit "$status"
fi
