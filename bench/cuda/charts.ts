// cpu-vs-cuda's chart: decode time per token against model size on each device, with the size from
// which CUDA wins marked.
import type { LineSeriesOption } from 'echarts/types/dist/option';
import { PALETTE, round } from '../report/charts.js';
import type { ReportChart } from '../report/report.js';
import type { CpuVsCudaFile, DeviceSide, ModelComparison } from './compare.js';

const msPerToken = (s: DeviceSide | null) => s?.profile.summary.decode.ms_per_token?.median ?? null;

function deviceLine(name: string, color: string, models: readonly ModelComparison[], side: (m: ModelComparison) => DeviceSide | null): LineSeriesOption {
  return {
    type: 'line',
    name,
    itemStyle: { color },
    symbolSize: 8,
    label: { show: true, formatter: '{@[2]}', position: 'top', fontSize: 10 },
    data: models.flatMap((m) => {
      const ms = msPerToken(side(m));
      return ms === null ? [] : [[m.model.params, round(ms, 2), m.model.name]];
    }),
  };
}

export function cpuVsCudaCharts(f: CpuVsCudaFile): ReportChart[] {
  const models = [...f.models].sort((a, b) => a.model.params - b.model.params);
  const from = f.crossover.find((c) => c.metric === 'decode_tok_s')?.from_params ?? null;
  const cuda = deviceLine('CUDA', PALETTE[1], models, (m) => m.cuda);
  if (from !== null) {
    cuda.markLine = { symbol: 'none', lineStyle: { type: 'dashed', color: '#888' }, label: { formatter: 'CUDA wins from here' }, data: [{ xAxis: from }] };
  }
  const measuredCuda = models.some((m) => m.cuda !== null);
  return [{
    id: 'size',
    title: `Decode ms per token against model size${measuredCuda ? '' : ' (CPU only: CUDA was not measured here)'}`,
    height: 380,
    option: {
      tooltip: { trigger: 'item', formatter: '{a}: {@[2]}, {@[1]} ms/token' },
      legend: { top: 0 },
      grid: { left: 64, right: 32, top: 40, bottom: 56 },
      xAxis: { type: 'log', name: 'parameters in the checkpoint', nameLocation: 'middle', nameGap: 32 },
      yAxis: { type: 'log', name: 'ms / token' },
      series: [deviceLine('CPU', PALETTE[0], models, (m) => m.cpu), ...(measuredCuda ? [cuda] : [])],
    },
  }];
}
