// systeminformation calls, each in its own child process. Several run external tools
// synchronously (nvidia-smi, dmidecode, `hostname -f`, which waits on DNS), so no timer in this
// process could interrupt a hung one; a child process group can be killed.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Systeminformation } from 'systeminformation';

export interface ProbeResults {
  cpu: Systeminformation.CpuData;
  cpuFlags: string;
  mem: Systeminformation.MemData;
  osInfo: Systeminformation.OsData;
  graphics: Systeminformation.GraphicsData;
  blockDevices: Systeminformation.BlockDevicesData[];
}

export type Probed<T> = { ok: true; value: T } | { ok: false; reason: string };

const CHILD_SCRIPT = 'require(process.argv[1])[process.argv[2]]().then((v) => process.stdout.write(JSON.stringify(v)))';

export function probe<K extends keyof ProbeResults>(call: K, timeoutMs: number): Promise<Probed<ProbeResults[K]>> {
  const siPath = createRequire(import.meta.url).resolve('systeminformation');
  return new Promise((resolve) => {
    // Its own process group, so that a kill also reaches the tools it started.
    const child = spawn(process.execPath, ['-e', CHILD_SCRIPT, siPath, call], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // Already gone between the deadline and the kill.
      }
      resolve({ ok: false, reason: `systeminformation.${call}() gave no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `systeminformation.${call}(): ${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve({ ok: true, value: JSON.parse(out) as ProbeResults[K] });
      } catch {
        resolve({ ok: false, reason: `systeminformation.${call}() failed (exit code ${code})` });
      }
    });
  });
}
