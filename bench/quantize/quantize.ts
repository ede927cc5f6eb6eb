// rabbit-bench quantize: any model the engine loads (safetensors, or GGUF to requantize) written as
// a GGUF file of a llama-quantize style type mix, with its tokenizer.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { readGgufHeader, type GgufEntry } from '../model/gguf/reader.js';
import type { MetaEntry } from '../model/gguf/writer.js';
import { buildLoadPlan } from '../model/plan.js';
import type { LoadPlan } from '../model/types.js';
import { decodeWeightBytes } from '../vs-hf/roofline.js';
import { QUANT_MIXES, type QuantMix } from './mix.js';
import { planValueSources } from './sources.js';
import { folderTokenizerMetadata } from './tokenizer-metadata.js';
import { writeGgufModel, type WrittenTensor } from './write-model.js';

export interface QuantizeOptions {
  model: string;
  type: string;
  out: string;
  force: boolean;
}

export const QUANTIZE_SCHEMA = 'rabbit-bench/quantize@1';

/** What `quantize` prints and --format json holds. */
export interface QuantizeResult {
  schema: typeof QUANTIZE_SCHEMA;
  source: { model: string; format: string; dtype: string; bytes: number; decode_bytes_per_token: number };
  out: string;
  type: QuantMix;
  bytes: number;
  /** Weight bytes a decode token reads (decoder layers + lm_head), and that over the source's. */
  decode_bytes_per_token: number;
  decode_bytes_ratio: number;
  tensor_types: Record<string, number>;
  notes: string[];
  warnings: string[];
  seconds: number;
}

export function parseMix(type: string): QuantMix {
  const mix = QUANT_MIXES.find((m) => m === type.toUpperCase());
  if (!mix) throw new UserError(`--type must be one of ${QUANT_MIXES.join(', ')}, not ${type}`, 2);
  return mix;
}

export function quantizeModel(o: QuantizeOptions): QuantizeResult {
  const started = performance.now();
  const mix = parseMix(o.type);
  const out = path.resolve(o.out);
  if (!out.endsWith('.gguf')) throw new UserError(`--out must name a .gguf file, not ${o.out}`, 2);
  if (fs.existsSync(out) && !o.force) throw new UserError(`${out} exists; pass --force to replace it`, 2);
  if (!fs.existsSync(path.dirname(out))) throw new UserError(`${path.dirname(out)} does not exist`, 2);
  const plan = buildLoadPlan(o.model);
  if (plan.source.format === 'gguf' && path.resolve(plan.source.file) === out) {
    throw new UserError('--out is the input file; write the quantized model elsewhere', 2);
  }
  const tokenizer = tokenizerOf(plan);
  const warnings = [...tokenizer.warnings];
  if (plan.spec.slidingWindow !== null) {
    // GGUF's llama architecture (which Mistral files use) records no sliding window.
    warnings.push(`the model's ${plan.spec.slidingWindow}-token sliding window is not kept: GGUF readers attend to the whole context`);
  }
  const written = writeGgufModel(out, {
    spec: plan.spec,
    name: plan.source.format === 'gguf' ? path.basename(plan.source.file, '.gguf') : path.basename(plan.modelDir),
    mix,
    tensors: planValueSources(plan),
    tokenizer: tokenizer.entries,
    provenance: plan.provenance,
  });
  const result = buildLoadPlan(out);
  const sourceBytes = plan.files.reduce((a, f) => a + fs.statSync(f).size, 0);
  const before = decodeWeightBytes(plan).stored;
  const after = decodeWeightBytes(result).stored;
  return {
    schema: QUANTIZE_SCHEMA,
    source: { model: o.model, format: plan.source.format, dtype: String(plan.spec.dtype), bytes: sourceBytes, decode_bytes_per_token: before },
    out,
    type: mix,
    bytes: written.bytes,
    decode_bytes_per_token: after,
    decode_bytes_ratio: after / before,
    tensor_types: countTypes(written.tensors),
    notes: written.tensors.filter((t) => t.note).map((t) => `${t.name}: ${t.note}`),
    warnings,
    seconds: (performance.now() - started) / 1000,
  };
}

function countTypes(tensors: WrittenTensor[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of tensors) counts[t.dtype] = (counts[t.dtype] ?? 0) + 1;
  return counts;
}

/** The tokenizer as GGUF metadata: converted from tokenizer.json, or copied from a GGUF source. */
function tokenizerOf(plan: LoadPlan): { entries: MetaEntry[]; warnings: string[] } {
  if (plan.source.format === 'safetensors') return folderTokenizerMetadata(plan.modelDir, plan.spec);
  const entries: MetaEntry[] = [];
  for (const [key, e] of readGgufHeader(plan.source.file).metadata) {
    if (key.startsWith('tokenizer.')) entries.push(copyEntry(key, e));
  }
  return { entries, warnings: [] };
}

function copyEntry(key: string, e: GgufEntry): MetaEntry {
  return { key, type: e.type, elementType: e.elementType, value: e.value };
}
