// A token progress bar on stderr, only for a person watching a terminal.
import cliProgress from 'cli-progress';

export interface Progress {
  tick(): void;
  stop(): void;
}

const silent: Progress = { tick() {}, stop() {} };

export function tokenProgress(total: number, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'profiling [{bar}] {value}/{total} tokens · {duration}s', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { tick: () => bar.increment(), stop: () => bar.stop() };
}
