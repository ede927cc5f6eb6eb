// Every command handler runs through here: user errors print one clear line and set the exit
// code; nothing reaches the user as an unexplained stack trace unless RB_DEBUG is set.
import { UserError } from '../errors.js';

export async function runCommand(body: () => Promise<number | void>): Promise<void> {
  try {
    const code = await body();
    process.exitCode = code ?? 0;
  } catch (err) {
    const e = err as Error;
    const code = err instanceof UserError ? err.exitCode : 1;
    process.stderr.write(`rabbit-bench: error: ${e.message}\n`);
    if (process.env.RB_DEBUG && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exitCode = code;
  }
}
