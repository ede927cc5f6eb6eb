// `cpu-vs-cuda` results: per model, the same workload's profile on each device, the speedups,
// and the model size from which CUDA wins. Built on the profile summaries; stored as a versioned
// JSON document, and drawn as a report from it alone.
import { z } from 'zod';
import { CUDA_BUILD_STATES, CUDA_STATUS_CODES, type NativeCudaStatus } from '../engine/native.js';
import { PHASE_ROWS, type PhaseRow, type ProfileSummary } from '../profile/summary.js';
import { ModelInfoSchema, ProfileFileSchema } from '../results/profile-schema.js';
import type { Summary } from '../stats.js';
import type { Report, ReportCsv, ReportTable } from '../report/report.js';
import { cpuVsCudaCharts } from './charts.js';
import { cudaDeviceLine, cudaMissing } from './status.js';
import { VramSummarySchema } from './vram.js';

export const CPU_VS_CUDA_SCHEMA = 'rabbit-bench/cpu-vs-cuda@1';

const count = z.number().int().nonnegative();

/** The CUDA backend's status as the engine reported it (see NativeCudaStatus). */
const CudaStatusSchema = z.object({
  built: z.boolean(),
  available: z.boolean(),
  code: z.enum(CUDA_STATUS_CODES),
  reason: z.string(),
  library: z.string(),
  buildState: z.enum(CUDA_BUILD_STATES),
  devices: count,
  deviceName: z.string(),
  deviceMemoryBytes: z.number().nonnegative(),
  computeCapability: z.string(),
  driverVersion: z.number(),
  runtimeVersion: z.number(),
  cublas: z.boolean(),
}) satisfies z.ZodType<NativeCudaStatus>;

/** One device's measurements of one model. */
const DeviceSideSchema = z.object({
  /** Time to open the engine: plan to ready backend (the CUDA context included). */
  load_ms: z.number().nonnegative(),
  vram: VramSummarySchema.nullable(),
  profile: ProfileFileSchema,
});

const ModelComparisonSchema = z.object({
  model: ModelInfoSchema,
  /** The real model's parameters when the checkpoint is a shape cut to fewer layers; else null. */
  full_params: z.number().nullable(),
  full_layers: z.number().nullable(),
  cpu: DeviceSideSchema,
  /** null when CUDA was not measured (unavailable, or it failed: see cuda_error). */
  cuda: DeviceSideSchema.nullable(),
  cuda_error: z.string().nullable(),
  /** CUDA over CPU, > 1 when CUDA is faster; null without a CUDA side. */
  speedup: z.record(z.string(), z.number()).nullable(),
});

const CrossoverSchema = z.object({
  metric: z.string(),
  /** The smallest model from which CUDA wins on this and every larger model measured; null if none. */
  from_model: z.string().nullable(),
  from_params: z.number().nullable(),
  /** The largest model on which the CPU still wins (below the crossover); null if none. */
  cpu_wins_up_to_model: z.string().nullable(),
  cpu_wins_up_to_params: z.number().nullable(),
  line: z.string(),
});

export const CpuVsCudaFileSchema = z.object({
  schema: z.literal(CPU_VS_CUDA_SCHEMA),
  command: z.literal('cpu-vs-cuda'),
  created_at: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  environment: z.record(z.string(), z.unknown()),
  cuda: CudaStatusSchema,
  settings: z.object({
    prompt_tokens: count,
    max_new_tokens: count,
    runs: z.number().int().positive(),
    warmup: count,
    threads: count,
    prefetch: z.boolean(),
    pin_memory: z.boolean(),
    async_transfer: z.boolean(),
    /** Decoder layers kept in synthesised shapes (--layers); null with --model. */
    synthetic_layers: z.number().int().positive().nullable(),
  }),
  models: z.array(ModelComparisonSchema).min(1),
  /** Empty when fewer than one model has both sides. */
  crossover: z.array(CrossoverSchema),
});

export type DeviceSide = z.infer<typeof DeviceSideSchema>;
export type ModelComparison = z.infer<typeof ModelComparisonSchema>;
export type Crossover = z.infer<typeof CrossoverSchema>;
export type CpuVsCudaFile = z.infer<typeof CpuVsCudaFileSchema>;

/** Validates a document (as written, or read back). */
export function parseCpuVsCudaFile(doc: unknown, where: string): CpuVsCudaFile {
  const r = CpuVsCudaFileSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`${where} is not a valid ${CPU_VS_CUDA_SCHEMA} document: ${issue.path.join('.')}: ${issue.message}`);
  }
  return r.data;
}

// ---- metrics ----------------------------------------------------------------------------------

/** A metric row: how to read it from a side, and whether larger is better. */
interface Metric {
  id: string;
  label: string;
  value: (s: DeviceSide) => number | null;
  summary?: (s: DeviceSide) => Summary | null;
  higherIsBetter: boolean;
  digits: number;
}

const sum = (s: DeviceSide): ProfileSummary => s.profile.summary;

const METRICS: Metric[] = [
  { id: 'load_ms', label: 'load (ms, engine open)', value: (s) => s.load_ms, higherIsBetter: false, digits: 1 },
  { id: 'ttft_ms', label: 'TTFT (ms)', value: (s) => sum(s).prefill.ttft_ms.median, summary: (s) => sum(s).prefill.ttft_ms, higherIsBetter: false, digits: 1 },
  { id: 'decode_tok_s', label: 'decode tok/s', value: (s) => sum(s).decode.tok_per_s?.median ?? null, summary: (s) => sum(s).decode.tok_per_s, higherIsBetter: true, digits: 2 },
  { id: 's_per_token', label: 's / token (decode)', value: (s) => (sum(s).decode.ms_per_token ? sum(s).decode.ms_per_token!.median / 1000 : null),
    higherIsBetter: false, digits: 4 },
  { id: 'wall_ms', label: 'wall per run (ms)', value: (s) => sum(s).wall_ms.median, summary: (s) => sum(s).wall_ms, higherIsBetter: false, digits: 1 },
  ...PHASE_ROWS.map((row: PhaseRow): Metric => ({
    id: `phase.${row}`,
    label: `${row} (ms/run)`,
    value: (s) => sum(s).phases[row].median,
    summary: (s) => sum(s).phases[row],
    higherIsBetter: false,
    digits: 1,
  })),
  { id: 'peak_rss_mib', label: 'peak RSS (MiB)', value: (s) => sum(s).peak_rss_bytes / 2 ** 20, higherIsBetter: false, digits: 1 },
  { id: 'peak_vram_mib', label: 'peak VRAM (MiB)', value: (s) => (s.vram ? s.vram.peak_bytes / 2 ** 20 : null), higherIsBetter: false, digits: 1 },
];

/** Speedups are only meaningful for times and rates, not for memory. */
const SPEEDUP_METRICS = METRICS.filter((m) => !m.id.startsWith('peak_'));

/** CUDA over CPU for every time and rate: > 1 when CUDA is faster. */
export function speedups(cpu: DeviceSide, cuda: DeviceSide): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of SPEEDUP_METRICS) {
    const a = m.value(cpu);
    const b = m.value(cuda);
    if (a === null || b === null || a <= 0 || b <= 0) continue;
    out[m.id] = m.higherIsBetter ? b / a : a / b;
  }
  return out;
}

const CROSSOVER_METRICS: [string, string][] = [['decode_tok_s', 'decode tok/s'], ['ttft_ms', 'TTFT'], ['wall_ms', 'wall time per run']];

const params = (p: number) => (p >= 1e9 ? `${(p / 1e9).toFixed(2)}B` : `${(p / 1e6).toFixed(1)}M`);

/** From which model size CUDA wins, per metric, over the models measured on both devices. */
export function crossovers(models: readonly ModelComparison[]): Crossover[] {
  const both = models.filter((m) => m.speedup).sort((a, b) => a.model.params - b.model.params);
  if (both.length === 0) return [];
  return CROSSOVER_METRICS.flatMap(([id, label]): Crossover[] => {
    const rows = both.filter((m) => m.speedup![id] !== undefined);
    if (rows.length === 0) return [];
    // The first index from which CUDA wins on every larger model.
    let k = rows.length;
    while (k > 0 && rows[k - 1].speedup![id] > 1) k--;
    const from = k < rows.length ? rows[k] : null;
    const below = k > 0 ? rows[k - 1] : null;
    const name = (m: ModelComparison) => `${m.model.name} (${params(m.model.params)} params)`;
    let line: string;
    if (!from) line = `${label}: CUDA does not win on any model measured, up to ${name(rows[rows.length - 1])}`;
    else if (!below) line = `${label}: CUDA wins on every model measured, from the smallest, ${name(from)} (×${from.speedup![id].toFixed(2)})`;
    else line = `${label}: CUDA starts to win at ${name(from)} (×${from.speedup![id].toFixed(2)}); the CPU still wins at ${name(below)} (CUDA ×${below.speedup![id].toFixed(2)})`;
    return [{
      metric: id,
      from_model: from?.model.name ?? null,
      from_params: from?.model.params ?? null,
      cpu_wins_up_to_model: below?.model.name ?? null,
      cpu_wins_up_to_params: below?.model.params ?? null,
      line,
    }];
  });
}

// ---- rendering --------------------------------------------------------------------------------

const dash = '—';
const fmt = (x: number | null, digits: number) => (x === null ? dash : x.toFixed(digits));
const ratio = (x: number | undefined) => (x === undefined ? dash : `×${x.toFixed(2)} ${x >= 1 ? '(CUDA faster)' : '(CPU faster)'}`);

function modelLine(m: ModelComparison): string {
  const i = m.model;
  const synthetic = i.synthetic ? `synthetic ${i.synthetic.shape}${m.full_layers ? `, ${i.num_layers} of ${m.full_layers} layers` : ''}, ` : '';
  const full = m.full_params ? `; full model ${params(m.full_params)}` : '';
  return `${i.name} (${synthetic}${i.architecture}, ${i.dtype}, ${i.num_layers} layers, ${params(i.params)} params${full})`;
}

function settingsLine(f: CpuVsCudaFile): string {
  const s = f.settings;
  const cuda = f.cuda.available
    ? `CUDA: ${s.pin_memory ? 'pinned' : 'pageable'} host memory, ${s.async_transfer ? 'async' : 'synchronous'} transfer`
    : 'CUDA: unavailable';
  const layers = s.synthetic_layers ? ` · shapes cut to ${s.synthetic_layers} decoder layers (embedding and lm_head at full size)` : '';
  return `cpu-vs-cuda · ${f.models.length} model${f.models.length === 1 ? '' : 's'} · prompt ${s.prompt_tokens} tok · ${s.max_new_tokens} new tokens · ` +
    `${s.runs} runs (+${s.warmup} warmup) · ${s.prefetch ? 'streaming + prefetch' : 'streaming, no prefetch'} · ${s.threads || 'all'} CPU threads · ${cuda}${layers}`;
}

/** The sentence that says why CUDA was not measured, or null when it was available. */
export function cudaNote(cuda: NativeCudaStatus, missing: string): string | null {
  if (cuda.available) return null;
  return `CUDA unavailable (${missing}): ${cuda.reason}. Only the CPU side was measured.`;
}

function comparisonTables(f: CpuVsCudaFile): ReportTable[] {
  const tables: ReportTable[] = f.models.map((m) => ({
    title: modelLine(m),
    head: ['metric', 'CPU', 'CUDA', 'CUDA vs CPU'],
    rows: METRICS.filter((x) => x.id !== 'peak_vram_mib' || m.cuda).map((x) => [
      x.label,
      fmt(x.value(m.cpu), x.digits),
      m.cuda ? fmt(x.value(m.cuda), x.digits) : m.cuda_error ? 'failed' : dash,
      m.speedup ? ratio(m.speedup[x.id]) : dash,
    ]),
  }));
  const sorted = [...f.models].sort((a, b) => a.model.params - b.model.params);
  tables.push({
    title: 'Summary (models by size; speedup = CUDA over CPU)',
    head: ['model', 'params', 'CPU tok/s', 'CUDA tok/s', 'decode speedup', 'CPU TTFT ms', 'CUDA TTFT ms', 'TTFT speedup'],
    rows: sorted.map((m) => {
      const s = (side: DeviceSide | null, id: string, digits: number) => {
        const metric = METRICS.find((x) => x.id === id)!;
        return side ? fmt(metric.value(side), digits) : dash;
      };
      return [m.model.name, params(m.model.params), s(m.cpu, 'decode_tok_s', 2), s(m.cuda, 'decode_tok_s', 2),
        m.speedup?.decode_tok_s !== undefined ? `×${m.speedup.decode_tok_s.toFixed(2)}` : dash,
        s(m.cpu, 'ttft_ms', 1), s(m.cuda, 'ttft_ms', 1), m.speedup?.ttft_ms !== undefined ? `×${m.speedup.ttft_ms.toFixed(2)}` : dash];
    }),
  });
  return tables;
}

function comparisonFooter(f: CpuVsCudaFile): string[] {
  const note = cudaNote(f.cuda, cudaMissing(f.cuda));
  const lines: string[] = [];
  if (f.crossover.length > 0) lines.push(...f.crossover.map((c) => `crossover, ${c.line}`));
  else lines.push(`crossover: not measured${note ? ' (no CUDA side)' : ''}`);
  for (const m of f.models) if (m.cuda_error) lines.push(`${m.model.name}: CUDA failed: ${m.cuda_error}`);
  if (note) lines.push(note);
  return lines;
}

const CSV_COLUMNS = ['model', 'params', 'full_params', 'device', 'metric', 'median', 'min', 'max', 'stdev'];

/** One row per model x device x metric (median, min, max, stdev), plus the speedups. */
function comparisonCsv(f: CpuVsCudaFile): ReportCsv {
  const rows: ReportCsv['rows'] = [];
  for (const m of f.models) {
    const base = [m.model.name, m.model.params, m.full_params];
    for (const [device, side] of [['cpu', m.cpu], ['cuda', m.cuda]] as const) {
      if (!side) continue;
      for (const x of METRICS) {
        const v = x.value(side);
        if (v === null) continue;
        const s = x.summary?.(side) ?? null;
        rows.push([...base, device, x.id, v, s?.min ?? null, s?.max ?? null, s?.stdev ?? null]);
      }
    }
    for (const [id, v] of Object.entries(m.speedup ?? {})) rows.push([...base, 'cuda_over_cpu', `speedup.${id}`, v, null, null, null]);
  }
  return { columns: CSV_COLUMNS, rows };
}

/** The whole report, from the result document alone. */
export function cpuVsCudaReport(f: CpuVsCudaFile): Report {
  return {
    kind: 'cpu-vs-cuda',
    title: 'rabbit-bench cpu-vs-cuda',
    header: [settingsLine(f), ...(f.cuda.available ? [`CUDA device: ${cudaDeviceLine(f.cuda)}`] : [])],
    tables: comparisonTables(f),
    notes: comparisonFooter(f),
    charts: cpuVsCudaCharts(f),
    data: f,
    csv: comparisonCsv(f),
  };
}
