// containerd-style list filters, so the CLI and the gRPC API can pass the same
// strings containerd users know:
//   name==docker.io/library/busybox:latest
//   labels."com.example/tier"==prod,labels.keep        (comma = AND)
//   ["name~=^busybox", "labels.pinned"]                 (list = OR)
// Operators: == (equal), != (not equal), ~= (regular expression), and a bare
// field path (present). Values may be quoted with "..." (JSON escapes).
import { invalidArgument } from './errors.js';

type Op = '==' | '!=' | '~=' | 'present';

interface Clause {
  path: string[];
  op: Op;
  value: string;
  regexp?: RegExp;
}

/** Gives a field's value for a field path such as ["labels", "k"]; undefined when absent. */
export type FieldAdaptor = (path: string[]) => string | undefined;

/** A parsed filter set: `matches(adaptor)` is true if any filter string matches (OR of ANDs). */
export interface Filter {
  matches(adaptor: FieldAdaptor): boolean;
}

class Scanner {
  pos = 0;
  constructor(readonly input: string) {}
  get done(): boolean {
    return this.pos >= this.input.length;
  }
  peek(n = 1): string {
    return this.input.slice(this.pos, this.pos + n);
  }
  fail(reason: string): never {
    throw invalidArgument(`invalid filter ${JSON.stringify(this.input)} at position ${this.pos}: ${reason}`);
  }
  quoted(): string {
    const start = this.pos;
    this.pos++; // opening quote
    while (!this.done && this.peek() !== '"') this.pos += this.peek() === '\\' ? 2 : 1;
    if (this.done) this.fail('unterminated quoted string');
    this.pos++;
    try {
      return JSON.parse(this.input.slice(start, this.pos)) as string;
    } catch {
      return this.fail('bad escape in quoted string');
    }
  }
  /** An unquoted run of characters, stopping at any of `stops`. */
  bare(stops: string[]): string {
    const start = this.pos;
    while (!this.done && !stops.some((s) => this.input.startsWith(s, this.pos))) this.pos++;
    return this.input.slice(start, this.pos);
  }
}

const OPS: Op[] = ['==', '!=', '~='];

function parseClause(s: Scanner): Clause {
  const path: string[] = [];
  for (;;) {
    const part = s.peek() === '"' ? s.quoted() : s.bare(['.', ',', ...OPS]);
    if (part === '') s.fail('expected a field name');
    path.push(part);
    if (s.peek() !== '.') break;
    s.pos++;
  }
  const op = OPS.find((o) => s.peek(2) === o);
  if (op === undefined) {
    if (!s.done && s.peek() !== ',') s.fail('expected an operator (==, !=, ~=) or ","');
    return { path, op: 'present', value: '' };
  }
  s.pos += 2;
  const value = s.peek() === '"' ? s.quoted() : s.bare([',']);
  const clause: Clause = { path, op, value };
  if (op === '~=') {
    try {
      clause.regexp = new RegExp(value);
    } catch (err) {
      s.fail(`bad regular expression ${JSON.stringify(value)}: ${(err as Error).message}`);
    }
  }
  return clause;
}

function parseConjunction(input: string): Clause[] {
  const s = new Scanner(input.trim());
  const clauses: Clause[] = [];
  while (!s.done) {
    clauses.push(parseClause(s));
    if (s.peek() === ',') {
      s.pos++;
      if (s.done) s.fail('trailing ","');
    }
  }
  return clauses;
}

function clauseMatches(c: Clause, adaptor: FieldAdaptor): boolean {
  const v = adaptor(c.path);
  switch (c.op) {
    case 'present':
      return v !== undefined;
    case '==':
      return v === c.value;
    case '!=':
      return v !== c.value;
    case '~=':
      return v !== undefined && c.regexp!.test(v);
  }
}

/** Parses filter strings; an empty list (or only empty strings) matches everything. */
export function parseFilters(filters: readonly string[] = []): Filter {
  const alternatives = filters.filter((f) => f.trim() !== '').map(parseConjunction);
  return {
    matches(adaptor) {
      if (alternatives.length === 0) return true;
      return alternatives.some((clauses) => clauses.every((c) => clauseMatches(c, adaptor)));
    },
  };
}

/** Adaptor helper: resolves ["labels", key] against a label map. */
export function labelField(labels: Record<string, string>, path: string[]): string | undefined {
  if (path.length < 2) return undefined;
  return labels[path.slice(1).join('.')];
}
