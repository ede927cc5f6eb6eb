// Where llama.cpp comes from: the npm package node-llama-cpp, which ships prebuilt llama.cpp
// builds. Its node_modules weigh ~730 MB (GPU builds included), so it is no dependency of the
// suite: the user adds it to the checkout (npm i -E node-llama-cpp@VERSION) or
// `npm run setup:llama-cpp` installs it into the rabbit-bench cache.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cacheDir } from '../synth/cache.js';
import { repoRoot } from '../paths.js';

/** The release tested here; newer ones have broken `npm ci` and changed the low-level API the benchmark times. */
export const NODE_LLAMA_CPP_VERSION = '3.21.1';

/** The folder `npm run setup:llama-cpp` installs node-llama-cpp into. */
export function llamaCppCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'llama-cpp');
}

export type LlamaCppLocation = { found: true; entry: string; version: string; from: 'checkout' | 'cache' } | { found: false; reason: string };

function packageAt(root: string): { entry: string; version: string } | undefined {
  const manifest = join(root, 'node_modules', 'node-llama-cpp', 'package.json');
  if (!existsSync(manifest)) return undefined;
  const require = createRequire(manifest);
  const version = (require(manifest) as { version: string }).version;
  return { entry: join(root, 'node_modules', 'node-llama-cpp', 'dist', 'index.js'), version };
}

/** node-llama-cpp from this checkout's node_modules first, then the cache; why not, in one line. */
export function locateLlamaCpp(env: NodeJS.ProcessEnv = process.env): LlamaCppLocation {
  for (const [root, from] of [[repoRoot(), 'checkout'], [llamaCppCacheDir(env), 'cache']] as const) {
    const p = packageAt(root);
    if (p) return { found: true, ...p, from };
  }
  return {
    found: false,
    reason: `node-llama-cpp is not installed: \`npm run setup:llama-cpp\` puts node-llama-cpp@${NODE_LLAMA_CPP_VERSION} (~730 MB, prebuilt llama.cpp) ` +
      `into ${llamaCppCacheDir(env)}, or \`npm i -E node-llama-cpp@${NODE_LLAMA_CPP_VERSION}\` adds it to this checkout`,
  };
}
