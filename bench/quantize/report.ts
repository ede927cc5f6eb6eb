// `rabbit-bench quantize`'s report: the tensor types written, and the bytes a decode token reads
// before and after.
import type { Report, ReportTable } from '../report/report.js';
import type { QuantizeResult } from './quantize.js';

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** How many tensors of each storage type a written file holds, the most common first. */
export function tensorTypesTable(types: Record<string, number>): ReportTable {
  const rows = Object.entries(types).sort((a, b) => b[1] - a[1]).map(([type, n]) => [type, String(n)]);
  return { title: 'Tensor types', head: ['type', 'tensors'], rows };
}

export function quantizeReport(r: QuantizeResult): Report {
  return {
    kind: 'quantize',
    title: 'rabbit-bench quantize',
    header: [],
    tables: [tensorTypesTable(r.tensor_types)],
    notes: [
      ...r.warnings.map((w) => `warning: ${w}`),
      ...(r.notes.length > 0 ? [`${r.notes.length} tensors fell back to another type (e.g. ${r.notes[0]})`] : []),
      `wrote ${r.out} (${r.type}, ${mib(r.bytes)}) from ${r.source.format} ${r.source.dtype} (${mib(r.source.bytes)}) in ${r.seconds.toFixed(1)} s`,
      `a decode token reads ${mib(r.decode_bytes_per_token)} of weights, ${r.decode_bytes_ratio.toFixed(3)}x the source's ${mib(r.source.decode_bytes_per_token)}`,
    ],
    data: r,
  };
}
