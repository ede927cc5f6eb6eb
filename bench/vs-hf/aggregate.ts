// Rounds → rows: the median of each runner's figures over the rounds it completed, its ratios to
// transformers on the same model and dtype, and where it stands against its roofline.
import { median } from '../stats.js';
import { wallOverBound } from './measurement.js';
import { roofline } from './roofline.js';
import { RUNNERS, type DtypeFlag, type Measurement, type ModelEntry, type Row, type Runner } from './schema.js';

export interface Bandwidths {
  /** Bytes/s for resident weights (and for transformers, whose weights are always resident). */
  memory: number;
  /** Bytes/s of warm page-cache reads, for the engine's streaming mode. */
  pageCache: number;
}

/** Median of the values present; null when none is. */
export function medianOf(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return present.length > 0 ? median(present) : null;
}

/** a ÷ b, or null where either is missing. */
export function ratio(a: number | null, b: number | null): number | null {
  return a !== null && b !== null && b > 0 ? a / b : null;
}

function phaseMedians(ok: readonly Measurement[]): Row['streaming_decode_ms'] {
  const phases = ok.flatMap((m) => (m.decode_phases ? [m.decode_phases] : []));
  if (phases.length === 0) return null;
  const ms = (f: (p: (typeof phases)[number]) => number) => median(phases.map(f)) / 1e6;
  return { wall: ms((p) => p.wall_ns), load: ms((p) => p.load_ns), compute: ms((p) => p.compute_ns) };
}

function rooflineOf(runner: Runner, model: ModelEntry, bw: Bandwidths, decode: number | null) {
  if (runner === 'engine-streaming') return roofline(model.weight_bytes_per_token, 'page-cache', bw.pageCache, decode);
  if (runner === 'engine-resident') return roofline(model.weight_bytes_per_token, 'memory', bw.memory, decode);
  return roofline(model.weight_bytes_per_token_f32, 'memory', bw.memory, decode);
}

/** One row per model × dtype × runner that has measurements, in model → dtype → runner order. */
export function aggregateRows(measurements: readonly Measurement[], models: readonly ModelEntry[], bw: Bandwidths): Row[] {
  const rows: Row[] = [];
  for (const model of models) {
    const base = new Map<Runner, { prefill: number | null; decode: number | null }>();
    const partial: Omit<Row, 'prefill_vs_hf_sdpa' | 'decode_vs_hf_sdpa' | 'prefill_vs_hf_eager' | 'decode_vs_hf_eager'>[] = [];
    for (const runner of RUNNERS) {
      const all = measurements.filter((m) => m.model === model.model && m.dtype === model.dtype && m.runner === runner);
      if (all.length === 0) continue;
      const ok = all.filter((m) => m.error === null);
      const prefill = medianOf(ok.map((m) => m.prefill_tok_s));
      const decode = medianOf(ok.map((m) => m.decode_tok_s));
      base.set(runner, { prefill, decode });
      partial.push({
        model: model.model,
        dtype: model.dtype,
        runner,
        rounds: ok.length,
        failed: all.length - ok.length,
        errors: all.flatMap((m) => (m.error === null ? [] : [`round ${m.round + 1}: ${m.error}`])),
        prefill_tok_s: prefill,
        decode_tok_s: decode,
        peak_rss_bytes: medianOf(ok.map((m) => m.peak_rss_bytes)),
        roofline: rooflineOf(runner, model, bw, decode),
        streaming_wall_over_bound: runner === 'engine-streaming' ? medianOf(ok.map((m) => (m.decode_phases ? wallOverBound(m.decode_phases) : null))) : null,
        streaming_decode_ms: runner === 'engine-streaming' ? phaseMedians(ok) : null,
      });
    }
    const sdpa = base.get('hf-sdpa');
    const eager = base.get('hf-eager');
    for (const p of partial) {
      rows.push({
        ...p,
        prefill_vs_hf_sdpa: ratio(p.prefill_tok_s, sdpa?.prefill ?? null),
        decode_vs_hf_sdpa: ratio(p.decode_tok_s, sdpa?.decode ?? null),
        prefill_vs_hf_eager: ratio(p.prefill_tok_s, eager?.prefill ?? null),
        decode_vs_hf_eager: ratio(p.decode_tok_s, eager?.decode ?? null),
      });
    }
  }
  return rows;
}

export function findRow(rows: readonly Row[], model: string, dtype: DtypeFlag, runner: Runner): Row | undefined {
  return rows.find((r) => r.model === model && r.dtype === dtype && r.runner === runner);
}
