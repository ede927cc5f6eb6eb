// The environment report: complete, valid against its schema, fast, and a stable fingerprint.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { collectEnvironment, EnvironmentReportSchema, machineFingerprint, runMetadata, RunMetadataSchema, type EnvironmentReport } from '../../bench/env/environment.js';
import { shellQuote } from '../../bench/env/run-metadata.js';
import { simdFlags } from '../../bench/env/system.js';
import { REPO_ROOT } from '../helpers/paths.js';

let report: EnvironmentReport;
beforeAll(async () => {
  report = await collectEnvironment({ measure: false });
});

describe('collectEnvironment without measuring', () => {
  it('has every section, and the schema accepts it', () => {
    expect(EnvironmentReportSchema.parse(report)).toEqual(report);
    expect(report.cpu.cores).toBeGreaterThan(0);
    expect(report.cpu.brand).not.toBe('');
    expect(report.cpu.simd).not.toBeNull();
    expect(report.memory.total_bytes).toBeGreaterThan(report.memory.available_bytes);
    expect(report.os.kernel).not.toBe('');
    expect(report.node_version).toBe(process.version);
    expect(report.engine_build.backends).toContain('cpu');
    expect(report.measured).toBeNull();
    expect(report.unavailable).toEqual([]);
    expect(Array.isArray(report.gpus) && Array.isArray(report.disks)).toBe(true);
  });

  it.skipIf(process.platform !== 'linux')('locates the storage of the temp folder', () => {
    expect(report.storage).toMatchObject({ mount_point: expect.stringMatching(/^\//), fs_type: expect.any(String) });
    if (report.storage?.disk) expect(report.disks.map((d) => d.name)).toContain(report.storage.disk);
  });

  it('is quick (the systeminformation probes are bounded)', () => {
    expect(report.collect_ms).toBeLessThan(5000);
  });

  it('rejects a malformed report', () => {
    expect(EnvironmentReportSchema.safeParse({ ...report, cpu: { ...report.cpu, cores: 'two' } }).success).toBe(false);
    const { memory: _, ...withoutMemory } = report;
    expect(EnvironmentReportSchema.safeParse(withoutMemory).success).toBe(false);
    expect(EnvironmentReportSchema.safeParse({ ...report, schema_version: 2 }).success).toBe(false);
    expect(EnvironmentReportSchema.safeParse({ ...report, measured: { memory_bandwidth: {} } }).success).toBe(false);
  });

  it('refuses a disk folder that does not exist', async () => {
    const missing = join(tmpdir(), 'rb-env-no-such-dir');
    await expect(collectEnvironment({ measure: false, diskDir: missing })).rejects.toThrow(`${missing} is not a directory`);
  });
});

describe('machineFingerprint', () => {
  it('is the same on two collections of the same machine', async () => {
    const again = await collectEnvironment({ measure: false, diskDir: REPO_ROOT });
    expect(again.machine_fingerprint).toBe(report.machine_fingerprint);
    expect(machineFingerprint(report)).toBe(report.machine_fingerprint);
  });

  it('ignores RAM noise, kernel updates and GPU order, not the hardware', () => {
    const gpus = [{ model: 'A' }, { model: 'B' }];
    const base = { cpu: { brand: 'X', cores: 8 }, memory: { total_bytes: 16 * 2 ** 30 }, os: { platform: 'linux', distro: 'D', arch: 'x64' }, gpus };
    const fp = machineFingerprint(base);
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(machineFingerprint({ ...base, memory: { total_bytes: 16 * 2 ** 30 - 50 * 2 ** 20 }, gpus: [...gpus].reverse() })).toBe(fp);
    expect(machineFingerprint({ ...base, cpu: { brand: 'X', cores: 16 } })).not.toBe(fp);
    expect(machineFingerprint({ ...base, gpus: [] })).not.toBe(fp);
  });
});

describe('simdFlags', () => {
  it('reads Linux and macOS spellings, AMX from any tile flag', () => {
    expect(simdFlags('fpu sse4_2 avx avx2 fma amx_tile')).toMatchObject({ sse4_2: true, avx: true, avx2: true, fma: true, amx: true, f16c: false, avx512f: false });
    expect(simdFlags('SSE4.2 AVX1.0 F16C')).toMatchObject({ sse4_2: true, avx: true, f16c: true, avx2: false });
  });
});

describe('runMetadata', () => {
  it('records the checkout HEAD, the quoted command line and the package version', () => {
    const started = new Date('2026-01-02T03:04:05.000Z');
    const m = runMetadata(['/usr/bin/node', 'dist/bench/cli.js', 'generate', '--prompt', "it's a test", ''], started);
    expect(RunMetadataSchema.parse(m)).toEqual(m);
    expect(m.git_commit).toBe(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim());
    expect(typeof m.git_dirty).toBe('boolean');
    expect(m.git_unavailable).toBeNull();
    expect(m.command).toBe(`/usr/bin/node dist/bench/cli.js generate --prompt 'it'\\''s a test' ''`);
    expect(m.cwd).toBe(process.cwd());
    expect(m.started_at).toBe('2026-01-02T03:04:05.000Z');
    expect(m.rabbit_bench_version).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version);
  });

  it('quotes so that a shell gives back the same arguments', () => {
    const args = ['plain', 'two words', "it's", '$HOME', 'a"b', '', 'x\ny'];
    const echoed = execFileSync('sh', ['-c', `printf '%s\\0' ${args.map(shellQuote).join(' ')}`], { encoding: 'utf8' });
    expect(echoed.split('\0').slice(0, -1)).toEqual(args);
  });
});
