// A samples progress bar on stderr, only for a person watching a terminal.
import cliProgress from 'cli-progress';

export interface SampleProgress {
  /** One more sample scored. */
  done(passed: boolean): void;
  /** One more token generated (shown, not counted). */
  token(): void;
  stop(): void;
}

export function sampleProgress(total: number, enabled: boolean): SampleProgress {
  if (!enabled || !process.stderr.isTTY || total === 0) return { done() {}, token() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'humaneval [{bar}] {value}/{total} samples · {passed} passed · {tokens} tokens · {duration}s', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let passed = 0;
  let tokens = 0;
  bar.start(total, 0, { passed, tokens });
  return {
    done(ok) {
      if (ok) passed += 1;
      bar.increment(1, { passed, tokens });
    },
    token() {
      tokens += 1;
      if (tokens % 16 === 0) bar.update({ passed, tokens });
    },
    stop: () => bar.stop(),
  };
}
