// `rabbit-bench env` through yargs, as the CLI registers it: one JSON document, or a table.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { envCommand } from '../../bench/commands/env.js';
import { EnvironmentReportSchema } from '../../bench/env/types.js';

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

afterEach(() => vi.restoreAllMocks());

describe('rabbit-bench env', () => {
  it('--json prints exactly one JSON document that the schema accepts', async () => {
    const r = await runEnv(['--no-measure', '--json']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const report = EnvironmentReportSchema.parse(JSON.parse(r.stdout));
    expect(report.measured).toBeNull();
  });

  it('prints a readable table', async () => {
    const r = await runEnv(['--no-measure', '--disk-dir', tmpdir()]);
    expect(r.exitCode).toBe(0);
    for (const row of ['Machine', 'CPU', 'SIMD', 'Memory', 'Storage', 'Engine build', 'not measured']) expect(r.stdout).toContain(row);
  });

  it('a missing --disk-dir is one error line and exit 1', async () => {
    const missing = join(tmpdir(), 'rb-env-no-such-dir');
    const r = await runEnv(['--no-measure', '--disk-dir', missing]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`rabbit-bench: error: ${missing} is not a directory\n`);
    expect(r.stdout).toBe('');
  });
});
