import { isJsonObject, show, type JsonObject } from './json.js';
import type { RopeSpec } from './types.js';

const DEFAULT_THETA = 10_000;

export function ropeOf(config: JsonObject, fail: (message: string) => never): { theta: number; rope: RopeSpec } {
  // transformers 5 (convert_rope_params_to_dict) lets a non-empty legacy rope_scaling win over
  // rope_parameters, and reads the top-level rope_theta only when the dict has none.
  const legacy = config.rope_scaling;
  const key =
    legacy !== undefined && legacy !== null && !(isJsonObject(legacy) && Object.keys(legacy).length === 0)
      ? 'rope_scaling'
      : 'rope_parameters';
  const raw = config[key] ?? {};
  if (!isJsonObject(raw)) return fail(`'${key}' must be an object or null, found ${show(raw)}`);
  // transformers 5 may nest the parameters by layer type; only full attention is supported anyway.
  const nested = isJsonObject(raw.full_attention);
  const p = nested ? (raw.full_attention as JsonObject) : raw;
  const label = nested ? `${key}.full_attention` : key;

  const positive = (name: string, value: unknown): number => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      return fail(`'${name}' must be a positive number, found ${show(value)}`);
    }
    return value;
  };
  const theta =
    p.rope_theta !== undefined && p.rope_theta !== null
      ? positive(`${label}.rope_theta`, p.rope_theta)
      : positive('rope_theta', config.rope_theta ?? DEFAULT_THETA);

  const type = p.rope_type ?? p.type ?? 'default';
  const field = (name: string): number => {
    if (p[name] === undefined || p[name] === null) {
      return fail(`'${label}.${name}' is missing (required for ${show(type)} RoPE scaling)`);
    }
    return positive(`${label}.${name}`, p[name]);
  };
  switch (type) {
    case 'default':
      return { theta, rope: { type: 'default' } };
    case 'linear':
      return { theta, rope: { type: 'linear', factor: field('factor') } };
    case 'llama3': {
      const rope: RopeSpec = {
        type: 'llama3',
        factor: field('factor'),
        lowFreqFactor: field('low_freq_factor'),
        highFreqFactor: field('high_freq_factor'),
        originalMaxPositions: field('original_max_position_embeddings'),
      };
      if (!Number.isSafeInteger(rope.originalMaxPositions)) {
        return fail(`'${label}.original_max_position_embeddings' must be an integer, found ${rope.originalMaxPositions}`);
      }
      return { theta, rope };
    }
    default: {
      const name = typeof type === 'string' ? `'${type}'` : show(type);
      return fail(`RoPE scaling type ${name} is not supported (supported: default, linear, llama3)`);
    }
  }
}
