// Where result files go and what they are called: results/<date>-<command>-<model>.{json,csv,md}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function resultStem(command: string, model: string, date = new Date()): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const safeModel = model.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'model';
  return `${stamp}-${command}-${safeModel}`;
}

export interface WrittenFiles {
  json: string;
  csv: string;
  md: string;
}

export function writeResultFiles(outDir: string, stem: string, content: { json: unknown; csv: string; md: string }): WrittenFiles {
  mkdirSync(outDir, { recursive: true });
  const files = { json: join(outDir, `${stem}.json`), csv: join(outDir, `${stem}.csv`), md: join(outDir, `${stem}.md`) };
  writeFileSync(files.json, `${JSON.stringify(content.json, null, 1)}\n`);
  writeFileSync(files.csv, content.csv);
  writeFileSync(files.md, content.md);
  return files;
}
