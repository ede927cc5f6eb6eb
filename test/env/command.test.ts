// `rabbit-bench env` through yargs, as the CLI registers it: one JSON document, or its report in
// any format, drawn from that document alone.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import yargs from 'yargs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { envCommand } from '../../bench/commands/env.js';
import { EnvDocSchema, envReport } from '../../bench/env/report.js';
import { EnvironmentReportSchema, type DiskRead, type EnvironmentReport } from '../../bench/env/types.js';
import { render } from '../../bench/report/print.js';

/** When set, what the command collects: a fixed report, so two runs print the same facts. */
const fixed = vi.hoisted(() => ({ report: undefined as EnvironmentReport | undefined }));
vi.mock('../../bench/env/environment.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../bench/env/environment.js')>();
  return { ...actual, collectEnvironment: async (o: Parameters<typeof actual.collectEnvironment>[0]) => fixed.report ?? actual.collectEnvironment(o) };
});

async function runEnv(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  process.exitCode = undefined;
  await yargs(['env', ...args]).command(envCommand).strict().parseAsync();
  vi.restoreAllMocks();
  const exitCode = process.exitCode as number | undefined;
  process.exitCode = undefined;
  return { stdout, stderr, exitCode };
}

afterEach(() => {
  vi.restoreAllMocks();
  fixed.report = undefined;
});

const MiB = 2 ** 20;
const kernel = { bytes_per_element: 24, best_gbps: 30, median_gbps: 29 };
const disk: DiskRead = { dir: '/m', file_bytes: 256 * MiB, block_bytes: 4 * MiB, cold_mbps: 2100, warm_mbps: 9000, resident_before_cold: 0, resident_before_warm: 1,
  direct: [{ block_bytes: 4 * MiB, in_flight: 1, mbps: 1600 }, { block_bytes: 16 * MiB, in_flight: 4, mbps: 1740 }], direct_refused: null };

/** This machine's facts (unmeasured), with the given disk figures as if measured. */
async function measured(d: DiskRead): Promise<EnvironmentReport> {
  const report = EnvironmentReportSchema.parse(JSON.parse((await runEnv(['--no-measure', '--json'])).stdout));
  return { ...report, measured: { memory_bandwidth: { array_bytes: MiB, element_bytes: 8, threads: 2, repeats: 3, copy: kernel, triad: kernel }, disk_read: d } };
}

describe('rabbit-bench env', () => {
  it('--json prints exactly one JSON document, tagged, that the schema accepts', async () => {
    const r = await runEnv(['--no-measure', '--json']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const raw = JSON.parse(r.stdout);
    const doc = EnvDocSchema.parse(raw);
    expect(doc.schema).toBe('rabbit-bench/env@1');
    expect(doc.schema_version).toBe(1);
    expect(doc.measured).toBeNull();
    expect(await runEnv(['--no-measure', '--format', 'json']).then((f) => Object.keys(JSON.parse(f.stdout)))).toEqual(Object.keys(raw));
  });

  it('prints a readable table', async () => {
    const r = await runEnv(['--no-measure', '--disk-dir', tmpdir()]);
    expect(r.exitCode).toBe(0);
    for (const row of ['Machine', 'CPU', 'SIMD', 'Memory', 'Storage', 'Engine build', 'not measured']) expect(r.stdout).toContain(row);
  });

  it('Markdown and CSV show the facts and measurements the JSON holds, and nothing the JSON lacks', async () => {
    fixed.report = await measured(disk);
    const json = await runEnv(['--json']);
    const md = await runEnv(['--format', 'md']);
    const csv = await runEnv(['--format', 'csv']);
    expect([json.exitCode, md.exitCode, csv.exitCode]).toEqual([0, 0, 0]);
    const doc = EnvDocSchema.parse(JSON.parse(json.stdout));
    expect(md.stdout).toMatch(/^## rabbit-bench env\n/);
    expect(md.stdout).toContain(`| Machine | ${fixed.report.machine_fingerprint} |`);
    expect(md.stdout).toMatch(/### Measured bandwidth\n\n\| measurement \| result \|\n\| --- \| --- \|\n\| Memory triad \| 30\.0 GB\/s best/);
    expect(csv.stdout).toContain(`Machine,${fixed.report.machine_fingerprint}`);
    // The report the future `rabbit-bench report FILE.json` draws from the document is the one printed.
    expect(render(envReport(doc), 'md')).toBe(md.stdout);
    expect(render(envReport(doc), 'csv')).toBe(csv.stdout);
  });

  it('the disk rows say which figures are buffered and which O_DIRECT, and which is the cold-disk limit', async () => {
    const report = await measured(disk);
    const flat = (r: EnvironmentReport) => stripVTControlCharacters(render(envReport({ schema: 'rabbit-bench/env@1', ...r }), 'table')).replace(/[\s│]+/g, ' ');
    const text = flat(report);
    expect(text).toMatch(/2100 MB\/s buffered/);
    expect(text).toMatch(/1600 MB\/s \(4 MiB × 1 in flight\), 1740 MB\/s \(16 MiB × 4 in flight\): O_DIRECT/);
    expect(text).toMatch(/cold-disk limit 1740 MB\/s \(the best O_DIRECT figure\)/);
    const refused = flat({ ...report, measured: { ...report.measured!, disk_read: { ...disk, direct: [], direct_refused: 'this filesystem refuses O_DIRECT reads: Invalid argument' } } });
    expect(refused).toMatch(/refuses O_DIRECT reads/);
    expect(refused).toMatch(/cold-disk limit 2100 MB\/s \(the buffered cold read, unverified/);
    const fromDevice = flat({ ...report, measured: { ...report.measured!, disk_read: { ...disk, cold_device_bytes: 256 * MiB } } });
    expect(fromDevice).toMatch(/2100 MB\/s buffered \(0% cached before; the device delivered 100% of it\)/);
    expect(fromDevice).toMatch(/cold-disk limit 2100 MB\/s \(the buffered cold read, which the device delivered/);
  });

  it('a missing --disk-dir is one error line and exit 1', async () => {
    const missing = join(tmpdir(), 'rb-env-no-such-dir');
    const r = await runEnv(['--no-measure', '--disk-dir', missing]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`rabbit-bench: error: ${missing} is not a directory\n`);
    expect(r.stdout).toBe('');
  });
});
