// Drives engine-worker.ts in a child process. An engine error fails one generation; a crash of
// the process fails it too, and the next generation starts a fresh process.
import { fork, type ChildProcess } from 'node:child_process';
import type { EngineOptions, SamplingOptions } from '../engine/engine.js';
import type { GenerationTimings } from '../engine/summary.js';
import { compiledScript } from '../paths.js';
import type { PhaseTotals } from '../profile/phases.js';

export interface WorkerRequest {
  promptIds: number[];
  maxNewTokens: number;
  sampling: SamplingOptions;
}

export interface EngineOutput {
  tokens: number[];
  stopReason: 'eos' | 'max_new_tokens';
  timings: GenerationTimings;
  phases: PhaseTotals;
}

export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'token' }
  | ({ type: 'done' } & EngineOutput)
  | { type: 'failed'; message: string };

const TAIL = 2000;

export class GenerationTimeout extends Error {}

export class EngineProcess {
  private child: ChildProcess | undefined;
  private stderrTail = '';
  backend = '';

  constructor(
    private readonly model: string,
    private readonly options: EngineOptions,
  ) {}

  /** Starts the worker and waits until the engine is open; rejects with the engine's reason. */
  async start(): Promise<void> {
    const child = fork(compiledScript(import.meta.url, 'engine-worker.js'), [this.model, JSON.stringify(this.options)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    child.stderr?.on('data', (b: Buffer) => {
      process.stderr.write(b);
      this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-TAIL);
    });
    this.child = child;
    const first = await this.next(child, () => {});
    if (first.type !== 'ready') {
      this.close();
      throw new Error(first.type === 'failed' ? first.message : `the engine process sent ${first.type} before ready`);
    }
    this.backend = first.backend;
  }

  /** Rejects with GenerationTimeout, after killing the process, when no result came within `timeoutMs`. */
  async generate(request: WorkerRequest, onToken: () => void, timeoutMs: number): Promise<EngineOutput> {
    if (!this.child) await this.start();
    const child = this.child!;
    this.stderrTail = '';
    child.send(request);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // A hung engine cannot be asked to stop: the next generation starts a fresh process.
        this.close();
        reject(new GenerationTimeout(`generation did not finish within ${timeoutMs / 1000} s; the engine process was killed`));
      }, timeoutMs);
    });
    const reply = await Promise.race([this.next(child, onToken), deadline]).finally(() => clearTimeout(timer));
    if (reply.type === 'failed') throw new Error(reply.message);
    if (reply.type !== 'done') throw new Error(`the engine process sent ${reply.type} instead of a result`);
    const { type: _type, ...output } = reply;
    return output;
  }

  close(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }

  /** The next reply other than a token; a process that exits first rejects with how it ended. */
  private next(child: ChildProcess, onToken: () => void): Promise<Exclude<WorkerReply, { type: 'token' }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: WorkerReply) => {
        if (m.type === 'token') return onToken();
        cleanup();
        resolve(m);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        cleanup();
        // A process killed for its deadline may exit after its replacement started.
        if (this.child === child) this.child = undefined;
        const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`the engine process crashed (${signal ?? `exit code ${code}`})${tail ? `: ${tail}` : ''}`));
      };
      const cleanup = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
  }
}
