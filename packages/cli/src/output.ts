/** Output helpers shared by every command: aligned tables, JSON, errors. */

export type Format = 'table' | 'json';

export function parseFormat(value: string | undefined): Format {
  if (value === undefined || value === 'table') return 'table';
  if (value === 'json' || value === '{{json .}}') return 'json';
  throw new UsageError(`unknown --format "${value}": use "table" or "json"`);
}

/** Left-aligned columns separated by three spaces, like docker's tables. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A mistake in how berth was called: exit 125 with the message, no stack. */
export class UsageError extends Error {
  readonly exitCode = 125;
}

/** A berth-side failure the user can act on: exit 125 with the message. */
export class BerthError extends Error {
  constructor(
    message: string,
    readonly exitCode = 125,
  ) {
    super(message);
  }
}
