// `rabbit-bench merge FILES…`: the results of a sharded humaneval or validate run as one.
import { resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { summaryTables } from '../humaneval/report.js';
import { mergeResults } from '../merge/merge.js';
import { terminalTables } from '../report/printers/table.js';
import { prepareOutDir, resultStem, writeNewFiles } from '../results/files.js';
import { renderText } from '../validate/render.js';
import { runCommand } from './run.js';

function builder(y: Argv) {
  return y
    .positional('files', { type: 'string', array: true, demandOption: true, describe: 'the JSON result of every shard (humaneval or validate, --shard K/N)' })
    .option('out', { type: 'string', default: 'results', describe: 'folder for the merged JSON result' })
    .option('save', { type: 'boolean', default: true, describe: 'write the merged result (--no-save to skip)' })
    .option('json', { type: 'boolean', default: false, describe: 'print exactly one JSON document on stdout' });
}

type Args = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>;

async function handler(a: Args): Promise<number> {
  if (a.save) prepareOutDir(resolve(a.out));
  const merged = mergeResults((a.files ?? []).map(String));
  const doc = merged.result;
  const parts = doc.parts.length;
  if (a.save) {
    const stem = resultStem(`${merged.kind}-merged`, `${parts}-shards`);
    process.stderr.write(`wrote ${writeNewFiles(resolve(a.out), stem, { json: `${JSON.stringify(doc, null, 1)}\n` }).json}\n`);
  }
  if (a.json) process.stdout.write(`${JSON.stringify(doc)}\n`);
  else if (merged.kind === 'humaneval') {
    const s = merged.result.summary;
    process.stdout.write(`merged ${parts} shards: ${s.problems} problems, ${s.samples} samples, wall ${s.wall_s.toFixed(1)} s over all shards\n${terminalTables(summaryTables(s))}\n`);
  } else process.stdout.write(`merged ${parts} shards\n${renderText(merged.result)}`);
  return merged.kind === 'validate' && !merged.result.pass ? 1 : 0;
}

export const mergeCommand: CommandModule<object, Args> = {
  command: 'merge <files..>',
  describe: 'combine the results of a sharded humaneval or validate run (--shard K/N) into one',
  builder: builder as unknown as CommandModule<object, Args>['builder'],
  handler: (a) => runCommand(() => handler(a)),
};
