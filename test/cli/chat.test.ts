// --chat renders tokenizer_config.json's chat template (Jinja) and tokenizes it without adding
// special tokens twice, as transformers' apply_chat_template(tokenize=True) does.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPython, pythonProblem } from '../../bench/reference/live.js';
import { ModelTokenizer } from '../../bench/tokenizer.js';
import { buildFixtures } from '../../bench/synth/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { TEST_FIXTURES_DIR } from '../helpers/paths.js';
import { runCommand } from '../helpers/run.js';

const TEMPLATE =
  "{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>\n{% endfor %}{% if add_generation_prompt %}<s>assistant\n{% endif %}";

let dir: string;
beforeAll(() => {
  const fixture = buildFixtures(TEST_FIXTURES_DIR)['llama-tied-gqa-f32'];
  dir = mkdtempSync(join(tmpdir(), 'rb-chat-'));
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json']) {
    writeFileSync(join(dir, f), readFileSync(join(fixture, f)));
  }
  const config = JSON.parse(readFileSync(join(fixture, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: TEMPLATE }));
});
const cleanup: string[] = [];
afterAll(() => {
  for (const d of [dir, ...cleanup]) rmSync(d, { recursive: true, force: true });
});

describe('chat template', () => {
  it('renders system and user turns with a generation prompt, without a second BOS', async () => {
    const tok = await ModelTokenizer.load({ format: 'safetensors', dir });
    const ids = await tok.encodeChat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi rabbit' }]);
    const expected = await tok.encode('<s>system\nBe brief.</s>\n<s>user\nHi rabbit</s>\n<s>assistant\n', false);
    expect(ids).toEqual(expected);
    expect(ids[0]).toBe(1);
    expect(ids[1]).not.toBe(1);
  });

  it('generate --chat uses the template', async () => {
    const r = await runCli(['generate', '--model', dir, '--prompt', 'Hi rabbit', '--system', 'Be brief.', '--chat', '--max-new-tokens', '3', '--json']);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.prompt_ids.length).toBeGreaterThan(20);
    expect(doc.tokens).toHaveLength(3);
  });

  function withTemplate(template: string): string {
    const hostile = mkdtempSync(join(tmpdir(), 'rb-chat-hostile-'));
    cleanup.push(hostile);
    for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json']) {
      writeFileSync(join(hostile, f), readFileSync(join(dir, f)));
    }
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    writeFileSync(join(hostile, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: template }));
    return hostile;
  }

  it('a template that would exhaust memory or loop for ever is a clear error (exit 2), not a crash or a hang', async () => {
    const chat = (model: string) => runCli(['generate', '--model', model, '--prompt', 'Hi', '--chat', '--max-new-tokens', '1']);
    const huge = await chat(withTemplate('{% for i in range(10**9) %}x{% endfor %}'));
    expect(huge.status, huge.stderr).toBe(2);
    expect(huge.stderr).toBe('rabbit-bench: error: the chat template needed more than 256 MiB of memory to render\n');
    const t0 = Date.now();
    const nested = await chat(withTemplate('{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}'));
    expect(nested.status, nested.stderr).toBe(2);
    expect(nested.stderr).toBe('rabbit-bench: error: the chat template did not finish rendering within 5 s\n');
    expect(Date.now() - t0).toBeLessThan(30_000);
    const broken = await chat(withTemplate('{% for m in %}'));
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/^rabbit-bench: error: the chat template cannot be rendered: /);
  });

  const python = defaultPython();
  const problem = python ? pythonProblem(python) : 'no .venv-hf (run scripts/setup-hf-venv.sh)';
  it.skipIf(problem !== undefined)(`ids equal transformers' apply_chat_template${problem ? ` (skipped: ${problem})` : ''}`, async () => {
    const script = [
      'import json, sys',
      'from transformers import AutoTokenizer',
      't = AutoTokenizer.from_pretrained(sys.argv[1])',
      "msgs = [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi rabbit'}]",
      'r = t.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)',
      "print(json.dumps(list(r['input_ids'] if isinstance(r, dict) or hasattr(r, 'keys') else r)))",
    ].join('\n');
    const out = await runCommand(python!, ['-c', script, dir]);
    expect(out.status, out.stderr).toBe(0);
    const tok = await ModelTokenizer.load({ format: 'safetensors', dir });
    const ids = await tok.encodeChat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi rabbit' }]);
    expect(ids).toEqual(JSON.parse(out.stdout));
  });
});
