/** Output helpers shared by every command: aligned tables, JSON, templates, errors. */
import type { CliIo } from './stdio/io.js';

/**
 * How a listing or inspect prints: an aligned table, JSON, or a template such
 * as `{{.Names}}` or `table {{.ID}}\t{{.Image}}` over each item's JSON object.
 */
export type Format = 'table' | 'json' | { template: string };

export function parseFormat(value: string | undefined): Format {
  if (value === undefined || value === '' || value === 'table') return 'table';
  if (value === 'json' || /^\{\{\s*json\s+\.\s*\}\}$/.test(value)) return 'json';
  if (value.includes('{{')) {
    checkTemplate(value);
    return { template: value };
  }
  throw new UsageError(`unknown --format "${value}": use "table", "json" or a template such as '{{.ID}}'`);
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

const ACTION = /\{\{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}/g;

function checkTemplate(template: string): void {
  const rest = template.replace(ACTION, '');
  if (rest.includes('{{') || rest.includes('}}')) {
    throw new UsageError(`unsupported --format template "${template}": use {{.Field}}, {{.Field.Sub}}, {{json .}} or {{json .Field}}`);
  }
}

function lookup(value: unknown, path: string): unknown {
  let v = value;
  for (const key of path === '' ? [] : path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function templateText(value: unknown): string {
  if (value === undefined || value === null) return '<no value>';
  if (typeof value === 'object') {
    if (Array.isArray(value)) return `[${value.map(templateText).join(' ')}]`;
    return `map[${Object.entries(value)
      .map(([k, v]) => `${k}:${templateText(v)}`)
      .join(' ')}]`;
  }
  return String(value);
}

/** One item through a template: {{.A.B}} prints a field, {{json .A}} its JSON. `\t` and `\n` are escapes. */
export function renderTemplate(template: string, item: unknown): string {
  return template
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n')
    .replace(ACTION, (_m, json: string | undefined, path: string) => {
      const v = lookup(item, path);
      return json ? JSON.stringify(v ?? null) : templateText(v);
    });
}

/** Every item through a template, one per line; a "table " prefix aligns the tab-separated cells under headers. */
export function renderTemplateList(template: string, items: unknown[]): string {
  const table = /^table\s+/.exec(template);
  if (!table) return items.map((i) => renderTemplate(template, i) + '\n').join('');
  const body = template.slice(table[0].length);
  const headers = renderTemplate(body.replace(ACTION, (_m, _j, path: string) => path.toUpperCase() || 'VALUE'), {}).split('\t');
  return renderTable(
    headers,
    items.map((i) => renderTemplate(body, i).split('\t')),
  );
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A column of a listing: its header and how a row shows in it. */
export interface Column<T> {
  header: string;
  cell: (item: T) => string;
}

export interface ListOptions<T> {
  format: Format;
  columns: Column<T>[];
  /** The item as JSON (and as what templates see). */
  json: (item: T) => unknown;
  /** -q: print only this per item. */
  quiet?: ((item: T) => string) | undefined;
}

/** A listing as -q ids, a table, a JSON array, or a template per item. */
export function renderList<T>(items: T[], o: ListOptions<T>): string {
  if (o.quiet) return items.map((i) => o.quiet!(i) + '\n').join('');
  if (o.format === 'json') return JSON.stringify(items.map(o.json), null, 2) + '\n';
  if (o.format === 'table') {
    return renderTable(
      o.columns.map((c) => c.header),
      items.map((i) => o.columns.map((c) => c.cell(i))),
    );
  }
  return renderTemplateList(o.format.template, items.map(o.json));
}

export function printList<T>(io: CliIo, items: T[], o: ListOptions<T>): void {
  io.stdout.write(renderList(items, o));
}

/** Inspect output: a JSON array of objects (as docker inspect prints), or a template per object. */
export function renderInspect(objects: unknown[], format: Format): string {
  if (format === 'json' || format === 'table') return JSON.stringify(objects, null, 2) + '\n';
  return renderTemplateList(format.template, objects);
}

/**
 * Runs `one` for each name, keeping the objects and the "No such <what>: ..."
 * messages (a BerthError starting with `missing`); any other error is thrown.
 */
export async function inspectEach(names: string[], missing: string, one: (name: string) => Promise<unknown>): Promise<{ objects: unknown[]; failed: string[] }> {
  const objects: unknown[] = [];
  const failed: string[] = [];
  for (const name of names) {
    try {
      objects.push(await one(name));
    } catch (err) {
      if (!(err instanceof BerthError) || !err.message.startsWith(missing)) throw err;
      failed.push(err.message);
    }
  }
  return { objects, failed };
}

/** Prints inspect output and the names not found; the exit code (125 when any was missing). */
export function printInspected(io: CliIo, r: { objects: unknown[]; failed: string[] }, format: Format): number {
  io.stdout.write(renderInspect(r.objects, format));
  for (const f of r.failed) io.stderr.write(`berth: ${f}\n`);
  return r.failed.length > 0 ? 125 : 0;
}

/** A mistake in how berth was called: exit 125 with the message, no stack. */
export class UsageError extends Error {
  readonly exitCode = 125;
}

/** A berth-side failure the user can act on: exit 125 (or the code given) with the message. */
export class BerthError extends Error {
  constructor(
    message: string,
    readonly exitCode = 125,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
