#!/usr/bin/env bash
# Installs node-llama-cpp (prebuilt llama.cpp) into the rabbit-bench cache, outside this checkout:
# its ~730 MB stay out of the default install. bench:vs-llama-cpp and parity --llama-cpp find it there.
#   bash scripts/setup-llama-cpp.sh
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(node -e "import('./dist/bench/llama-cpp/locate.js').then((m) => console.log(m.NODE_LLAMA_CPP_VERSION))")"
dir="$(node -e "import('./dist/bench/llama-cpp/locate.js').then((m) => console.log(m.llamaCppCacheDir()))")"
mkdir -p "$dir"
[[ -f "$dir/package.json" ]] || echo '{ "name": "rabbit-bench-llama-cpp", "private": true }' >"$dir/package.json"
# --ignore-scripts: its postinstall would try to build llama.cpp from source where no prebuilt fits;
# the prebuilt binaries come as optional dependencies and need no script.
npm install --prefix "$dir" --save-exact --no-audit --no-fund --ignore-scripts "node-llama-cpp@${version}"
echo "node-llama-cpp ${version} is in ${dir}"
