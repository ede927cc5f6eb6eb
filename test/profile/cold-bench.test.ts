import { describe, expect, it } from 'vitest';
import { coldMarkdown, coldRows, type ColdMeasurement } from '../../bench/profile/cold-bench.js';

const m = (round: number, mode: ColdMeasurement['mode'], device: number | null, rate: number, tok: number, verdict: string): ColdMeasurement =>
  ({ round, mode, bytes_read: 16e9, device_bytes_read: device, read_mb_per_s: rate, decode_tok_per_s: tok, verdict });

describe('bench:cold rows', () => {
  it('one row per mode in a fixed order, medians and ranges over rounds, the device share capped at all of it', () => {
    const rows = coldRows([
      m(0, 'cold-step', 16.2e9, 1302, 0.61, 'disk'), m(0, 'warm', 0, 4998, 2.29, 'page-cache'), m(0, 'cold-run', 2e9, 4358, 2.45, 'page-cache'),
      m(1, 'cold-step', 15e9, 1250, 0.58, 'disk'), m(1, 'warm', 0, 5100, 2.31, 'page-cache'), m(1, 'cold-run', 2.1e9, 4400, 2.40, 'page-cache'),
      m(2, 'cold-step', 16.1e9, 1320, 0.62, 'disk'),
    ]);
    expect(rows.map((r) => [r.mode, r.rounds])).toEqual([['warm', 2], ['cold-run', 2], ['cold-step', 3]]);
    const step = rows[2];
    expect(step.device_share).toBe(1);
    expect(step.read_mb_per_s).toMatchObject({ median: 1302, min: 1250, max: 1320 });
    expect(rows[1].device_share).toBeCloseTo(2.05e9 / 16e9, 9);
    const md = coldMarkdown(rows, 1737);
    expect(md).toMatch(/\| cold-step \| 16\.00 \| 16\.10 \| 100% \| 1302 \(1250–1320\) \| 0\.61 \(0\.58–0\.62\) \| disk \|/);
    expect(md).toMatch(/cold-disk limit for the model's folder: 1737 MB\/s/);
  });

  it('a round whose kernel did not count device bytes leaves the mode without a device figure', () => {
    const [row] = coldRows([m(0, 'warm', null, 5000, 2.3, 'page-cache'), m(1, 'warm', 0, 5000, 2.3, 'page-cache')]);
    expect(row.device_bytes_read).toBeNull();
    expect(row.device_share).toBeNull();
    expect(coldMarkdown([row], null)).toMatch(/\| warm \| 16\.00 \| n\/a \| n\/a \|/);
  });
});
