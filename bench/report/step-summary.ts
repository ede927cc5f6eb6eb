// The GitHub Actions job summary: where diff and gate leave their Markdown when running there.
import { appendFileSync } from 'node:fs';

/** Appends Markdown to the GitHub Actions job summary when running there. */
export function appendStepSummary(markdown: string): void {
  const path = process.env.GITHUB_STEP_SUMMARY;
  if (path) appendFileSync(path, `${markdown}\n`);
}
