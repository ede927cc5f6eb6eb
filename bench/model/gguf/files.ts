// Which files make up a GGUF model: one file, or the parts of a split one
// (`NAME-00001-of-00003.gguf`, as llama.cpp's gguf-split names them), all in one folder.
import fs from 'node:fs';
import path from 'node:path';
import { ModelError } from '../../errors.js';
import { insideModel } from '../boundary.js';
import { isGgufFile } from './reader.js';

const SPLIT = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/;

export interface GgufFiles {
  /** The first part (or the only file). */
  file: string;
  /** Every part in order; [file] when not split. */
  parts: string[];
}

/** The parts of the model whose first (or only) file is `file`. */
export function ggufParts(file: string): GgufFiles {
  const abs = path.resolve(file);
  const match = SPLIT.exec(path.basename(abs));
  if (!match) return { file: abs, parts: [abs] };
  const [, prefix, index, count] = match;
  if (Number(index) !== 1) {
    throw new ModelError(`${abs} is part ${Number(index)} of a split GGUF model: pass its first part, ${prefix}-00001-of-${count}.gguf`);
  }
  const total = Number(count);
  if (total < 1) throw new ModelError(`${abs}: a split GGUF name with 0 parts`);
  const dir = path.dirname(abs);
  const parts: string[] = [];
  for (let i = 1; i <= total; i++) {
    const name = `${prefix}-${String(i).padStart(5, '0')}-of-${count}.gguf`;
    // The first part is the user's choice; the others are derived names, which must not lead out of its folder.
    const part = i === 1 ? abs : insideModel(dir, name, `${abs}: part ${i}`);
    if (!fs.existsSync(part)) throw new ModelError(`${abs}: part ${i} of ${total} is missing (looked for ${part})`);
    parts.push(part);
  }
  return { file: abs, parts };
}

/** The one GGUF model in a folder without config.json, or undefined when it holds no GGUF file. */
export function ggufInFolder(dir: string): GgufFiles | undefined {
  const names = fs.readdirSync(dir).filter((n) => n.endsWith('.gguf')).sort();
  const models = names.filter((n) => {
    const m = SPLIT.exec(n);
    return m ? Number(m[2]) === 1 : true;
  });
  const ggufModels = models.filter((n) => isGgufFile(path.join(dir, n)));
  if (ggufModels.length === 0) return undefined;
  if (ggufModels.length > 1) {
    throw new ModelError(`${dir} holds ${ggufModels.length} GGUF models (${ggufModels.join(', ')}): pass one of them as --model`);
  }
  return ggufParts(path.join(dir, ggufModels[0]));
}
