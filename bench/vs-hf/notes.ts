// Checks on the figures themselves, printed as notes under the table: numbers that cannot be
// right as they stand (above a roofline, an engine rebuilt mid-run) or that explain a result.
import type { NativeBuildInfo } from '../engine/native.js';
import type { Measurement, ModelEntry, Row } from './schema.js';

/** JSON with sorted keys, so the same build reads the same whichever way its fields were ordered. */
const canonical = (build: object) => JSON.stringify(Object.fromEntries(Object.entries(build).sort(([a], [b]) => a.localeCompare(b))));

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

/** Length of the common prefix of two token lists. */
export function agreeingPrefix(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

export interface NoteInputs {
  rows: readonly Row[];
  measurements: readonly Measurement[];
  models: readonly ModelEntry[];
  /** The build the parent loaded at the start. */
  build: NativeBuildInfo;
  /** L3 size from the environment report, when known. */
  l3Bytes: number | null;
  /** Hardware threads of the machine. */
  threads: number;
}

/** Other work averaging more than this share of the machine's threads makes a measurement contended. */
export const CONTENDED_SHARE = 0.25;
/** Contended measurements named in the note; the rest are counted. */
const MAX_NAMED = 4;

export function plausibilityNotes(i: NoteInputs): string[] {
  const notes: string[] = [];
  for (const r of i.rows) {
    const p = r.roofline.percent;
    if (p !== null && p > 100) {
      const fits = i.l3Bytes !== null && r.roofline.bytes_per_token <= i.l3Bytes;
      notes.push(`${r.model} ${r.dtype} ${r.runner} decodes at ${p.toFixed(0)}% of its roofline: ` +
        (fits ? `its ${mib(r.roofline.bytes_per_token)} per token fit in the ${mib(i.l3Bytes!)} L3, so they need not come from memory`
          : 'it reads fewer weight bytes per token than counted, or the bandwidth measurement is low'));
    }
  }
  for (const m of i.models) {
    const res = i.rows.find((r) => r.model === m.model && r.dtype === m.dtype && r.runner === 'engine-resident');
    if (m.dtype !== 'f32' && res?.peak_rss_bytes != null && res.peak_rss_bytes >= m.weight_bytes_per_token_f32) {
      notes.push(`${m.model} ${m.dtype} engine-resident peak RSS ${mib(res.peak_rss_bytes)} ≥ the weights in f32 (${mib(m.weight_bytes_per_token_f32)}; ` +
        `${mib(m.weight_bytes_per_token)} as stored): the engine seems to keep resident weights in f32, so its roofline (counted in ${m.dtype}) is out of reach`);
    }
  }
  const builds = new Set(i.measurements.flatMap((m) => (m.raw && 'build' in m.raw ? [canonical(m.raw.build)] : [])));
  builds.add(canonical(i.build));
  if (builds.size > 1) notes.push(`the engine build changed during the run (${builds.size} different buildInfo() reports): its rows mix builds`);

  for (const m of i.models) {
    const of = (runner: Measurement['runner']) => i.measurements.find((x) => x.model === m.model && x.dtype === m.dtype && x.runner === runner && x.error === null);
    const res = of('engine-resident');
    const st = of('engine-streaming');
    if (res && st && agreeingPrefix(res.tokens, st.tokens) !== res.tokens.length) {
      notes.push(`${m.model} ${m.dtype}: resident and streaming generated different tokens (agree on ${agreeingPrefix(res.tokens, st.tokens)} of ${res.tokens.length}): they should compute the same thing`);
    }
    const sdpa = of('hf-sdpa');
    if (res && sdpa) {
      notes.push(`${m.model} ${m.dtype}: greedy tokens of the engine and transformers sdpa agree on the first ${agreeingPrefix(res.tokens, sdpa.tokens)} of ${res.tokens.length} ` +
        '(random weights give small logit margins, so an early divergence alone is no error)');
    }
  }
  const contended = i.measurements.filter((m) => m.other_cores !== null && m.other_cores > CONTENDED_SHARE * i.threads);
  if (contended.length > 0) {
    const worst = Math.max(...contended.map((m) => m.other_cores!));
    const named = contended.slice(0, MAX_NAMED).map((m) => `round ${m.round + 1} ${m.model} ${m.dtype} ${m.runner}`);
    if (contended.length > MAX_NAMED) named.push(`${contended.length - MAX_NAMED} more (see other_cores in the JSON)`);
    notes.push(`${contended.length} of ${i.measurements.length} measurements ran while other work (or the hypervisor) kept more than ${(CONTENDED_SHARE * i.threads).toFixed(2)} ` +
      `of the ${i.threads} cores busy (up to ${worst.toFixed(2)}): ${named.join(', ')}`);
  }
  const noKeep = i.measurements.some((m) => m.raw && 'logits_to_keep' in m.raw && !m.raw.logits_to_keep);
  if (noKeep) notes.push('this transformers has no logits_to_keep: its prefill computed the lm_head for every prompt position, which the engine does not');
  return notes;
}
