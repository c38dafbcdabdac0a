/** Reading a Markdown report in tests: the lines under a heading, and the rows of the table there. */
import assert from 'node:assert/strict';

/** The lines under `heading` (a whole line, e.g. `### high-load`), up to the next heading. */
export function section(text: string, heading: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(heading);
  assert.ok(start >= 0, `missing heading ${heading}`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('#'));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** The body rows of the table in these lines (after its header and `|---|` lines). */
export function tableRows(lines: string[]): string[] {
  return lines.filter((l) => l.startsWith('|')).slice(2);
}

/** The header row of the table in these lines. */
export function tableHeader(lines: string[]): string | undefined {
  return lines.find((l) => l.startsWith('|'));
}
