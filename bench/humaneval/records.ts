// The crash-proof record of a run: a JSONL file with a header line (the settings) and one line
// per finished sample, each written and synced the moment its sample is scored. --resume reads it
// back, checks the settings are the same, and skips what is done.
import { closeSync, existsSync, fdatasyncSync, openSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { readTextFile } from '../json-file.js';
import { prepareOutDir } from '../results/files.js';

/** Records of many samples per problem outgrow the cap for configs; a Node string holds at most ~512 Mi characters. */
const MAX_RECORDS_BYTES = 500 * 2 ** 20;

const RECORDS_SCHEMA = 'rabbit-bench/humaneval-records@1';

/** Milliseconds per profiler phase, summed over the generation's steps (see bench/profile/phases.ts). */
const PhasesMsSchema = z.object({
  load_safe_tensor: z.number(),
  load_safe_tensor_cpu_wait: z.number(),
  create_layer: z.number(),
  forward_per_layer: z.number(),
  kv_fill: z.number(),
  sampling: z.number(),
  unaccounted: z.number(),
  background_load: z.number(),
});

const GenerationSchema = z.object({
  prompt_tokens: z.number().int(),
  /** Everything the engine generated (it cannot stop at a stop sequence, so it runs on to EOS or the limit). */
  generated_tokens: z.number().int(),
  /** The tokens kept: up to the one that completed the stop sequence. */
  completion_tokens: z.number().int(),
  token_ids: z.array(z.number().int()),
  stop_reason: z.enum(['stop_sequence', 'eos', 'max_new_tokens']),
  generation_ms: z.number(),
  /** generated_tokens / generation_ms, prefill included. */
  tokens_per_s: z.number().nullable(),
  ttft_ms: z.number(),
  decode_tokens_per_s: z.number().nullable(),
  bytes_read: z.number(),
  peak_rss_bytes: z.number(),
  phases_ms: PhasesMsSchema,
});

const HfComparisonSchema = z.object({
  identical: z.boolean(),
  /** First token index where the two differ (the shorter length when one is a prefix of the other). */
  first_divergence: z.number().int().nullable(),
  engine_tokens: z.number().int(),
  hf_tokens: z.number().int(),
  note: z.string().nullable(),
});

const PartCountSchema = z.object({ passed: z.number().int(), total: z.number().int() });

export const SAMPLE_STATUSES = ['passed', 'failed', 'timeout', 'error'] as const;
export type SampleStatus = (typeof SAMPLE_STATUSES)[number];

export const SampleRecordSchema = z.object({
  type: z.literal('sample'),
  task_id: z.string(),
  sample: z.number().int(),
  status: z.enum(SAMPLE_STATUSES),
  error: z.string().nullable(),
  completion: z.string(),
  exec_ms: z.number().nullable(),
  base: PartCountSchema.nullable(),
  plus: PartCountSchema.nullable(),
  survivors: z.number().int(),
  generation: GenerationSchema.nullable(),
  hf: HfComparisonSchema.nullable(),
  finished_at: z.string(),
});

export type SampleRecord = z.infer<typeof SampleRecordSchema>;
export type Generation = z.infer<typeof GenerationSchema>;
export type HfComparison = z.infer<typeof HfComparisonSchema>;

const HeaderSchema = z.object({
  type: z.literal('header'),
  schema: z.literal(RECORDS_SCHEMA),
  settings: z.record(z.string(), z.unknown()),
  started_at: z.string(),
});

export const sampleKey = (taskId: string, sample: number) => `${taskId}#${sample}`;

export class RecordsFile {
  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  /** Starts `<dir>/<stem>.jsonl`, or `<stem>-2.jsonl`, ...: a run never takes over another's records. */
  static create(dir: string, stem: string, settings: Record<string, unknown>): RecordsFile {
    prepareOutDir(dir);
    for (let n = 1; ; n++) {
      const path = join(dir, `${stem}${n === 1 ? '' : `-${n}`}.jsonl`);
      let fd: number;
      try {
        fd = openSync(path, 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && n < 10_000) continue;
        throw new UserError(`cannot create the records file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
      }
      const file = new RecordsFile(path, fd);
      file.write({ type: 'header', schema: RECORDS_SCHEMA, settings, started_at: new Date().toISOString() });
      return file;
    }
  }

  /** Opens an earlier run for appending; its finished samples come back with it. */
  static resume(path: string, settings: Record<string, unknown>, warn: (line: string) => void): { file: RecordsFile; done: SampleRecord[] } {
    if (!existsSync(path)) throw new UserError(`--resume ${path}: no such file`, 2);
    const text = readTextFile(path, '--resume', (m) => new UserError(m, 2), MAX_RECORDS_BYTES);
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline < text.length - 1) {
      // A crash mid-write leaves a torn last line: drop it so the next record starts clean.
      warn(`${path}: dropping an incomplete last line (the run was cut off while writing it)`);
      truncateSync(path, Buffer.byteLength(text.slice(0, lastNewline + 1)));
    }
    const lines = text.slice(0, lastNewline + 1).split('\n').filter((l) => l.trim());
    const header = HeaderSchema.safeParse(lines.length > 0 ? safeJson(lines[0]) : undefined);
    if (!header.success) throw new UserError(`${path} is not a rabbit-bench humaneval records file (${RECORDS_SCHEMA})`, 2);
    const changed = Object.keys({ ...settings, ...header.data.settings }).filter(
      (k) => JSON.stringify(settings[k]) !== JSON.stringify(header.data.settings[k]),
    );
    if (changed.length > 0) {
      const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
      throw new UserError(`--resume ${path}: the run was made with other settings: ${changed.map((k) => `${k} was ${show(header.data.settings[k])}, now ${show(settings[k])}`).join('; ')}`, 2);
    }
    const done = lines.slice(1).map((line, i) => {
      const r = SampleRecordSchema.safeParse(safeJson(line));
      if (!r.success) throw new UserError(`${path}:${i + 2}: not a sample record (${z.prettifyError(r.error).replace(/\n/g, '; ')})`);
      return r.data;
    });
    return { file: new RecordsFile(path, openSync(path, 'a')), done };
  }

  append(record: SampleRecord): void {
    this.write(record);
  }

  close(): void {
    closeSync(this.fd);
  }

  private write(value: unknown): void {
    writeSync(this.fd, `${JSON.stringify(value)}\n`);
    fdatasyncSync(this.fd);
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
