// The targets, checked on the rows: each is PASS or MISS with the figures behind it, or
// "not measured" with the reason (no transformers, a failed child, a dtype left out).
import { findRow } from './aggregate.js';
import type { DtypeFlag, ModelEntry, Row, TargetCheck } from './schema.js';

export const TARGETS = {
  residentDecodeVsSdpa: 2.0,
  residentDecodeRooflinePercent: 70,
  prefillVsSdpa: 1.5,
  streamingWallOverBound: 1.1,
} as const;

const x = (v: number) => `${v.toFixed(2)}×`;
const tps = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} tok/s`);

type Id = TargetCheck['id'];

function check(id: Id, target: string, scope: string, value: number | null, pass: (v: number) => boolean, detail: string, missing: string): TargetCheck {
  if (value === null) return { id, target, scope, status: 'not measured', value: null, detail: missing };
  return { id, target, scope, status: pass(value) ? 'PASS' : 'MISS', value, detail };
}

/** Why a row's figure is absent: the runner did not run here, or every round of it failed. */
function absent(row: Row | undefined, what: string): string {
  if (!row) return `${what} not run`;
  if (row.rounds === 0) return `${what} failed in every round (${row.errors[0] ?? 'no figures'})`;
  return `${what} produced no figure`;
}

/**
 * `hfReason` is why transformers was not measured at all (null when it was). Checks come out
 * grouped by target, then in the order of `models`.
 */
export function evaluateTargets(rows: readonly Row[], models: readonly ModelEntry[], hfReason: string | null): TargetCheck[] {
  const out: TargetCheck[] = [];
  const scopes = models.map((m) => ({ model: m.model, dtype: m.dtype, scope: `${m.model} ${m.dtype}` }));
  const hfMissing = (sdpa: Row | undefined) => (hfReason !== null ? `transformers not measured: ${hfReason}` : absent(sdpa, 'transformers sdpa'));

  for (const { model, dtype, scope } of scopes) {
    const res = findRow(rows, model, dtype, 'engine-resident');
    const sdpa = findRow(rows, model, dtype, 'hf-sdpa');
    const missing = res?.decode_tok_s == null ? absent(res, 'engine resident') : hfMissing(sdpa);
    out.push(check('resident-decode-vs-sdpa', `resident decode ≥ ${TARGETS.residentDecodeVsSdpa}× transformers sdpa`, scope,
      res?.decode_vs_hf_sdpa ?? null, (v) => v >= TARGETS.residentDecodeVsSdpa,
      `${x(res?.decode_vs_hf_sdpa ?? 0)} (engine ${tps(res?.decode_tok_s ?? null)} vs HF sdpa ${tps(sdpa?.decode_tok_s ?? null)})`, missing));
  }
  for (const { model, dtype, scope } of scopes) {
    const res = findRow(rows, model, dtype, 'engine-resident');
    const r = res?.roofline;
    out.push(check('resident-decode-roofline', `resident decode ≥ ${TARGETS.residentDecodeRooflinePercent}% of the memory-bandwidth limit`, scope,
      r?.percent ?? null, (v) => v >= TARGETS.residentDecodeRooflinePercent,
      r ? `${(r.percent ?? 0).toFixed(1)}% (${tps(res!.decode_tok_s)} of ${tps(r.limit_tok_s)} = ${(r.bandwidth / 1e9).toFixed(1)} GB/s ÷ ${(r.bytes_per_token / 2 ** 20).toFixed(1)} MiB per token)` : '',
      absent(res, 'engine resident')));
  }
  for (const { model, dtype, scope } of scopes) {
    const res = findRow(rows, model, dtype, 'engine-resident');
    const sdpa = findRow(rows, model, dtype, 'hf-sdpa');
    const missing = res?.prefill_tok_s == null ? absent(res, 'engine resident') : hfMissing(sdpa);
    out.push(check('prefill-vs-sdpa', `prefill ≥ ${TARGETS.prefillVsSdpa}× transformers sdpa (engine resident)`, scope,
      res?.prefill_vs_hf_sdpa ?? null, (v) => v >= TARGETS.prefillVsSdpa,
      `${x(res?.prefill_vs_hf_sdpa ?? 0)} (engine ${tps(res?.prefill_tok_s ?? null)} vs HF sdpa ${tps(sdpa?.prefill_tok_s ?? null)})`, missing));
  }
  for (const model of [...new Set(models.map((m) => m.model))]) {
    const has = (d: DtypeFlag) => models.some((m) => m.model === model && m.dtype === d);
    const bf16 = findRow(rows, model, 'bf16', 'engine-resident');
    const f32 = findRow(rows, model, 'f32', 'engine-resident');
    const value = bf16?.decode_tok_s != null && f32?.decode_tok_s != null ? bf16.decode_tok_s / f32.decode_tok_s : null;
    const missing = !has('bf16') || !has('f32') ? 'needs both --dtypes f32,bf16' : bf16?.decode_tok_s == null ? absent(bf16, 'engine resident bf16') : absent(f32, 'engine resident f32');
    out.push(check('bf16-faster-than-f32', 'bf16 decode faster than f32 (engine resident)', model, value, (v) => v > 1,
      `bf16 ${tps(bf16?.decode_tok_s ?? null)} vs f32 ${tps(f32?.decode_tok_s ?? null)} (${x(value ?? 0)})`, missing));
  }
  for (const { model, dtype, scope } of scopes) {
    const st = findRow(rows, model, dtype, 'engine-streaming');
    const v = st?.streaming_wall_over_bound ?? null;
    const p = st?.streaming_decode_ms;
    const ms = (n: number) => `${n.toFixed(1)} ms`;
    const figures = p ? ` (medians: wall ${ms(p.wall)}, Σload ${ms(p.load)}, Σcompute ${ms(p.compute)})` : '';
    out.push(check('streaming-overlap', `streaming wall ≤ ${TARGETS.streamingWallOverBound} × max(Σload, Σcompute) (decode steps, warm page cache)`, scope,
      v, (w) => w <= TARGETS.streamingWallOverBound, `wall = ${(v ?? 0).toFixed(3)} × max(Σload, Σcompute)${figures}`, absent(st, 'engine streaming')));
  }
  return out;
}
