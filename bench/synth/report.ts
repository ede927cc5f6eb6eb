// `rabbit-bench synth`'s result documents and their report: the checkpoint written, or the list
// of known shapes (--list-shapes). Both carry the synth schema; `shapes` marks the list.
import { tensorTypesTable } from '../quantize/report.js';
import type { Report, ReportTable } from '../report/report.js';
import { formatBytes, formatCount } from './sizes.js';

export const SYNTH_SCHEMA = 'rabbit-bench/synth@1';

export interface SynthResult {
  schema: typeof SYNTH_SCHEMA;
  out: string;
  /** The registry's shape, or null when the shape came from --config (source_config). */
  shape: string | null;
  hf_repo: string | null;
  source_config: string | null;
  architecture: string;
  seed: number;
  layers: { kept: number; original: number };
  params: { written: number; full_model: number };
  /** The config dtype (safetensors) or the GGUF type mix. */
  dtype: string;
  shards: number;
  bytes: { tensors: number; on_disk: number };
  files: string[];
  /** GGUF only: tensors per storage type. */
  tensor_types?: Record<string, number>;
  time_s: number;
  self_check: { ok: true; layers: number; weight_files: number; tensors: number };
}

export interface ShapeList {
  schema: typeof SYNTH_SCHEMA;
  shapes: {
    name: string;
    hf_repo: string;
    architecture: string;
    layers: number;
    hidden: number;
    heads: number;
    kv_heads: number;
    head_dim: number;
    intermediate: number;
    vocab: number;
    tied: boolean;
    dtype: string;
    params: number;
  }[];
}

export type SynthDoc = SynthResult | ShapeList;

function shapesTable(list: ShapeList): ReportTable {
  return {
    title: 'Known shapes',
    head: ['shape', 'repo', 'arch', 'layers', 'hidden', 'heads/kv', 'head_dim', 'inter', 'vocab', 'tied', 'params'],
    rows: list.shapes.map((r) => [
      r.name, r.hf_repo, r.architecture.replace('ForCausalLM', ''), String(r.layers), String(r.hidden),
      `${r.heads}/${r.kv_heads}`, String(r.head_dim), String(r.intermediate), String(r.vocab), r.tied ? 'yes' : 'no',
      formatCount(r.params),
    ]),
  };
}

function checkpointTable(r: SynthResult): ReportTable {
  const weightFiles = r.files.filter((f) => f.endsWith('.safetensors') || f.endsWith('.gguf')).length;
  const c = r.self_check;
  return {
    title: 'Checkpoint',
    head: ['fact', 'value'],
    rows: [
      ['architecture', `${r.architecture}, ${r.dtype}, seed ${r.seed}`],
      ['layers', `${r.layers.kept} kept of ${r.layers.original}`],
      ['params', `${formatCount(r.params.written)} written (${r.params.written.toLocaleString('en-US')}; full model ${formatCount(r.params.full_model)})`],
      ['bytes', `${formatBytes(r.bytes.on_disk)} in ${r.files.length} files (${weightFiles} weight files)`],
      ['self-check', `buildLoadPlan loads it: ${c.layers} layers, ${c.tensors} tensors in ${c.weight_files} weight files`],
      ['time', `${r.time_s} s`],
    ],
  };
}

export function synthReport(doc: SynthDoc): Report {
  if ('shapes' in doc) {
    return { kind: 'synth', title: 'rabbit-bench synth --list-shapes', header: [], tables: [shapesTable(doc)], notes: [], data: doc };
  }
  const source = doc.shape !== null ? `${doc.shape} (${doc.hf_repo})` : doc.source_config;
  return {
    kind: 'synth',
    title: 'rabbit-bench synth',
    header: [`synthetic ${source} → ${doc.out}`],
    tables: [checkpointTable(doc), ...(doc.tensor_types ? [tensorTypesTable(doc.tensor_types)] : [])],
    notes: [],
    data: doc,
  };
}
