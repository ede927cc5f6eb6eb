import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { HAS_STORIES, STORIES_DIR, STORIES_SUITE } from '../helpers/paths.js';

const HF_CONTINUATION = ', there was a little girl named Lily. She loved to play outside in the park.';

describe.skipIf(!HAS_STORIES)(`generate CLI (${STORIES_SUITE})`, () => {
  it('plain mode prints the HF continuation and a one-line timing summary', async () => {
    const r = await runCli(['generate', '--model', STORIES_DIR, '--prompt', 'Once upon a time', '--max-new-tokens', '48', '--greedy']);
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith(HF_CONTINUATION)).toBe(true);
    expect(r.stderr).toMatch(/^prompt 5 tok · generated 48 tok · TTFT [\d.]+ ms · decode [\d.]+ tok\/s .* stop: max_new_tokens$/m);
  });

  it('--json prints exactly one JSON object with ids, text, logits and timings', async () => {
    const r = await runCli(['generate', '--model', STORIES_DIR, '--prompt', 'Once upon a time', '--max-new-tokens', '6', '--json', '--logits']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]);
    expect(doc.prompt_ids).toEqual([1, 403, 407, 261, 378]);
    expect(doc.tokens).toEqual([432, 383, 286, 261, 376, 298]);
    expect(doc.text).toBe(', there was a little g');
    expect(doc.last_logits).toHaveLength(512);
    expect(doc.last_logits.indexOf(Math.max(...doc.last_logits))).toBe(432);
    expect(doc.timings.generated_tokens).toBe(6);
    expect(doc.timings.steps).toHaveLength(6);
    expect(doc.timings.ttft_ms).toBeGreaterThan(0);
  });

  it('--prompt-ids and --no-prefetch/--resident give the same tokens; last_logits only with --logits', async () => {
    const runs = [];
    for (const extra of [[], ['--no-prefetch'], ['--resident']]) {
      runs.push(JSON.parse((await runCli(['generate', '--model', STORIES_DIR, '--prompt-ids', '1,403,407,261,378', '--max-new-tokens', '8', '--json', ...extra])).stdout));
    }
    expect(runs[0].last_logits).toBeUndefined();
    for (const r of runs) expect(r.tokens).toEqual(runs[0].tokens);
  });

  it('--chat on a model without a chat template explains itself', async () => {
    const r = await runCli(['generate', '--model', STORIES_DIR, '--prompt', 'hi', '--chat']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no chat template/);
  });

  it('warns when generation runs past max_position_embeddings', async () => {
    const ids = Array.from({ length: 510 }, (_, i) => 300 + (i % 100)).join(',');
    const r = await runCli(['generate', '--model', STORIES_DIR, '--prompt-ids', ids, '--max-new-tokens', '4', '--ignore-eos', '--json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/exceed max_position_embeddings \(512\)/);
    expect(JSON.parse(r.stdout).tokens).toHaveLength(4);
  });
});
