// The JSON printer: exactly one document, the report's typed result.
import type { Report } from '../report.js';

export function printJson(r: Report): string {
  return `${JSON.stringify(r.data)}\n`;
}
