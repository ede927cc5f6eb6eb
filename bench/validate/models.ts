// The models of the matrix: every fixture (every supported architecture; synthesised once into the
// rabbit-bench cache) unless told otherwise, plus any folder or Hub repo id given with --models.
import { existsSync, realpathSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { buildLoadPlan } from '../model/plan.js';
import { modelArgument } from '../model/resolve.js';
import type { LoadPlan } from '../model/types.js';
import { cacheDir } from '../synth/cache.js';
import { buildFixtures } from '../synth/fixtures.js';
import { FIXTURES } from '../synth/fixture-specs.js';

export interface ModelTarget {
  name: string;
  source: string;
  fixture: boolean;
  plan: LoadPlan | null;
  /** Why the model cannot be loaded; its cells become errors. */
  problem: string | null;
}

export const FIXTURE_NAMES: readonly string[] = Object.keys(FIXTURES);

/** `all`, `none` or a comma list of fixture names. */
export function parseFixtureSelection(v: string): string[] {
  if (v === 'all') return [...FIXTURE_NAMES];
  if (v === 'none' || v === '') return [];
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !FIXTURE_NAMES.includes(n));
  if (unknown.length) throw new UserError(`--fixtures: unknown fixture ${unknown.join(', ')} (known: ${FIXTURE_NAMES.join(', ')}, or all, none)`, 2);
  return names;
}

/** A folder's (or GGUF file's) name, or NAME of a Hub id ORG/NAME[@REVISION]. */
function modelName(source: string): string {
  if (existsSync(source)) return basename(resolve(source), '.gguf');
  return source.replace(/@.*$/, '').split('/').pop() || source;
}

export function resolveModels(fixtures: string[], extra: string[]): ModelTarget[] {
  const targets: ModelTarget[] = [];
  if (fixtures.length) {
    const dirs = buildFixtures(join(cacheDir(), 'fixtures'));
    for (const name of fixtures) targets.push({ name, source: name, fixture: true, ...load(dirs[name]) });
  }
  for (const source of extra) targets.push({ name: modelName(source), source, fixture: false, ...load(source) });

  // The same folder twice is one model; two folders with one name get told apart.
  const seen = new Set<string>();
  const names = new Set<string>();
  const unique: ModelTarget[] = [];
  for (const t of targets) {
    const key = t.plan ? realpathSync(modelArgument(t.plan.source)) : `?${t.source}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let name = t.name;
    for (let i = 2; names.has(name); i++) name = `${t.name}-${i}`;
    names.add(name);
    unique.push({ ...t, name });
  }
  return unique;
}

function load(source: string): Pick<ModelTarget, 'plan' | 'problem'> {
  try {
    return { plan: buildLoadPlan(source), problem: null };
  } catch (err) {
    return { plan: null, problem: `cannot load ${source}: ${(err as Error).message}` };
  }
}
