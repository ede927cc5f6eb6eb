// npm run bench:vs-llama-cpp: the engine (resident and streamed) and llama.cpp on the same GGUF
// files; each child run is one measurement, the rounds of a model x runner one row of medians,
// with ratios to llama.cpp measured in the same rounds and the decode roofline; and the result as
// a report.
import { vsLlamaCppCharts } from './charts.js';
import type { Report, ReportCsv, ReportTable } from '../report/report.js';
import { median } from '../stats.js';
import { RUNNERS, type Runner, type VsLlamaCppFile, type VsLlamaMeasurement, type VsLlamaModel, type VsLlamaRow } from './schema.js';

/** What each runner's figures include, for the report's notes. */
const RUNNER_NOTES: Record<Runner, string> = {
  'engine-resident': 'prefill = the prefill step + choosing the first token; decode = each decode step + sampling; layers kept after the first load',
  'engine-streaming': 'as resident, with every unit re-read (pread, warm page cache) in every step',
  'llama.cpp': 'prefill = one llama_decode of the prompt; decode = one llama_decode per token, no sampling (llama-bench pp / tg); weights mmapped',
};

const medianOf = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length > 0 ? median(v) : null;
};
const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);

export function vsLlamaRows(models: readonly VsLlamaModel[], ms: readonly VsLlamaMeasurement[], memoryBytesPerS: number): VsLlamaRow[] {
  return models.flatMap((model) => {
    const of = (runner: Runner) => ms.filter((m) => m.shape === model.shape && m.type === model.type && m.runner === runner);
    const llama = of('llama.cpp').filter((m) => m.error === null);
    const llamaPrefill = medianOf(llama.map((m) => m.prefill_tok_s));
    const llamaDecode = medianOf(llama.map((m) => m.decode_tok_s));
    const roofline = memoryBytesPerS / model.weight_bytes_per_token;
    return RUNNERS.flatMap((runner) => {
      const all = of(runner);
      if (all.length === 0) return [];
      const ok = all.filter((m) => m.error === null);
      const decodes = ok.map((m) => m.decode_tok_s).filter((x): x is number => x !== null);
      const prefill = medianOf(ok.map((m) => m.prefill_tok_s));
      const decode = medianOf(decodes);
      return [{
        shape: model.shape,
        type: model.type,
        runner,
        rounds: ok.length,
        errors: all.flatMap((m) => (m.error === null ? [] : [`round ${m.round + 1}: ${m.error}`])),
        prefill_tok_s: prefill,
        decode_tok_s: decode,
        decode_range: decodes.length > 0 ? [Math.min(...decodes), Math.max(...decodes)] : null,
        peak_rss_bytes: medianOf(ok.map((m) => m.peak_rss_bytes)),
        prefill_vs_llama_cpp: ratio(prefill, llamaPrefill),
        decode_vs_llama_cpp: ratio(decode, llamaDecode),
        roofline_tok_s: roofline,
        roofline_share: decode === null ? null : decode / roofline,
      }];
    });
  });
}

const f = (x: number | null, digits = 1) => (x === null ? 'n/a' : x.toFixed(digits));
const x = (r: number | null) => (r === null ? 'n/a' : `${r.toFixed(2)}×`);

function rowsTable(file: Pick<VsLlamaCppFile, 'rows' | 'settings'>): ReportTable {
  const s = file.settings;
  return {
    title: `Engine vs llama.cpp: median of ${s.rounds} round${s.rounds === 1 ? '' : 's'} · prompt ${s.prompt_tokens} tok · ${s.decode_tokens} decode tokens · ${s.threads} threads`,
    head: ['shape', 'type', 'runner', 'prefill tok/s', 'decode tok/s (range)', '÷ llama.cpp prefill', '÷ llama.cpp decode', 'roofline tok/s', '% of roofline', 'peak RSS MiB'],
    rows: file.rows.map((r) => [r.shape, r.type, r.runner, f(r.prefill_tok_s), `${f(r.decode_tok_s)}${r.decode_range ? ` (${f(r.decode_range[0])}–${f(r.decode_range[1])})` : ''}`,
      x(r.prefill_vs_llama_cpp), x(r.decode_vs_llama_cpp), f(r.roofline_tok_s), r.roofline_share === null ? 'n/a' : `${(100 * r.roofline_share).toFixed(0)}%`,
      r.peak_rss_bytes === null ? 'n/a' : (r.peak_rss_bytes / 2 ** 20).toFixed(0)]),
  };
}

function llamaCppLine(l: VsLlamaCppFile['llama_cpp']): string {
  if ('not_measured' in l) return `llama.cpp not measured: ${l.not_measured}`;
  if (!l.build) return `llama.cpp: node-llama-cpp from the ${l.from} (no run finished)`;
  return `llama.cpp ${l.build.llama_cpp_release} (node-llama-cpp ${l.build.node_llama_cpp}, ${l.build.build_type}, from the ${l.from})`;
}

/** One row per child run, figures as measured. */
function measurementsCsv(ms: readonly VsLlamaMeasurement[]): ReportCsv {
  return {
    columns: ['shape', 'type', 'runner', 'round', 'prefill_tok_s', 'decode_tok_s', 'peak_rss_bytes', 'error'],
    rows: ms.map((m) => [m.shape, m.type, m.runner, m.round, m.prefill_tok_s, m.decode_tok_s, m.peak_rss_bytes, m.error]),
  };
}

/** The whole report, from the result document alone. */
export function vsLlamaCppReport(file: VsLlamaCppFile): Report {
  return {
    kind: 'vs-llama-cpp',
    title: 'rabbit-bench vs llama.cpp',
    header: [
      file.metadata.command,
      `${file.environment.cpu.brand} · engine ${file.engine.threads} threads · ${llamaCppLine(file.llama_cpp)}`,
      `roofline: STREAM triad ${file.memory_bandwidth.triad.best_gbps.toFixed(1)} GB/s ÷ bytes per token`,
    ],
    tables: [rowsTable(file)],
    charts: vsLlamaCppCharts(file),
    notes: [
      ...file.rows.filter((r) => r.errors.length > 0).map((r) => `${r.shape} ${r.type} ${r.runner} failed: ${r.errors.join('; ')}`),
      ...RUNNERS.map((r) => `${r}: ${RUNNER_NOTES[r]}`),
    ],
    data: file,
    csv: measurementsCsv(file.measurements),
  };
}
