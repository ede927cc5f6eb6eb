// One CSV row per run × step × unit × phase: the raw samples, for spreadsheets and pandas.
import type { ReportCsv } from '../report/report.js';
import type { ProfileFile } from '../results/profile-schema.js';

const COLUMNS = ['run', 'warmup', 'cache', 'step', 'kind', 'step_tokens', 'position', 'unit', 'phase', 'ns', 'bytes_read', 'background'];

const PHASE_COLUMNS = [
  ['load_safe_tensor', 'load_ns'],
  ['load_safe_tensor_cpu_wait', 'cpu_wait_ns'],
  ['create_layer', 'create_ns'],
  ['forward_per_layer', 'forward_ns'],
  ['kv_fill', 'kv_fill_ns'],
] as const;

export function profileCsv(file: ProfileFile): ReportCsv {
  const rows: ReportCsv['rows'] = [];
  for (const run of file.runs) {
    run.steps.forEach((step, s) => {
      file.unit_names.forEach((unit, u) => {
        for (const [phase, key] of PHASE_COLUMNS) {
          const isLoad = phase === 'load_safe_tensor';
          rows.push([run.index, run.warmup, run.cache, s, step.kind, step.tokens, step.position, unit, phase, step[key][u],
            isLoad ? step.bytes_read[u] : '', isLoad ? step.load_in_background[u] : '']);
        }
      });
      rows.push([run.index, run.warmup, run.cache, s, step.kind, step.tokens, step.position, '', 'wall', step.wall_ns, '', '']);
      rows.push([run.index, run.warmup, run.cache, s, step.kind, step.tokens, step.position, '', 'sampling', step.sample_ns, '', '']);
    });
  }
  return { columns: COLUMNS, rows };
}
