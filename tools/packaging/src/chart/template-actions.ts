// What one action is, from its tokens: which keyword opens it and what its
// pipeline reads, declares and calls, in the order Go's parser meets them
// (text/template/parse/parse.go), plus the mistakes visible within the action
// alone. How actions nest is template-check.ts's concern.
import type { TemplateAction, Token } from './template-lexer.js';

export type ActionKind = 'if' | 'with' | 'range' | 'else' | 'end' | 'define' | 'block' | 'template' | 'break' | 'continue' | 'pipeline';

/** Variables in the order the pipeline meets them. */
export type VariableEvent = { op: 'use' | 'declare' | 'assign'; name: string; line: number };

export interface ParsedAction {
  kind: ActionKind;
  line: number;
  /** `else if` / `else with`: the control the else goes on with. */
  elseControl?: 'if' | 'with';
  /** define/block: the name defined; template: the name executed. */
  name?: string;
  variables: VariableEvent[];
  /** Functions called (identifiers), with the line of each call. */
  functions: { name: string; line: number }[];
  /** `include NAME`: the literal name, or undefined when it is computed. */
  includes: { name: string | undefined; line: number }[];
  problems: { line: number; message: string }[];
}

/** The value of a string or raw-string token (Go escapes read as JSON's, which covers what charts use). */
export function stringValue(t: Token): string | undefined {
  if (t.kind === 'rawString') return t.text.slice(1, -1);
  if (t.kind !== 'string') return undefined;
  try {
    return JSON.parse(t.text) as string;
  } catch {
    return t.text.slice(1, -1);
  }
}

const describe = (t: Token | undefined) => (t === undefined ? 'the end of the action' : JSON.stringify(t.text));
const NOT_EXECUTABLE = new Set(['bool', 'dot', 'nil', 'number', 'string', 'rawString', 'char']);

class Parser {
  i = 0;
  readonly out: ParsedAction;

  constructor(
    readonly tokens: Token[],
    line: number,
  ) {
    this.out = { kind: 'pipeline', line, variables: [], functions: [], includes: [], problems: [] };
  }

  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }

  problem(t: Token | undefined, message: string): void {
    this.out.problems.push({ line: t?.line ?? this.out.line, message });
  }

  /** A pipeline up to the end of the action, or to the `)` that closes it (`inParens`). */
  pipeline(context: string, inParens: boolean): void {
    const start = this.peek();
    this.declarations(context);
    if (this.atPipelineEnd(inParens)) {
      this.problem(start, `missing value for ${context}`);
      return;
    }
    for (let stage = 0; ; stage++) {
      const first = this.peek();
      if (first?.kind === 'pipe' || this.atPipelineEnd(inParens)) this.problem(first, `missing command in ${context} (an empty stage of a "|" pipeline)`);
      else if (stage > 0 && NOT_EXECUTABLE.has(first!.kind)) this.problem(first, `non executable command in pipeline stage ${stage + 1}: ${describe(first)}`);
      this.command(context, inParens);
      if (this.peek()?.kind !== 'pipe') break;
      this.i++;
    }
    if (!this.atPipelineEnd(inParens)) this.problem(this.peek(), `unexpected ${describe(this.peek())} in ${context}`);
  }

  atPipelineEnd(inParens: boolean): boolean {
    const t = this.peek();
    return t === undefined || (inParens && t.kind === 'rightParen');
  }

  /** `$x :=`, `$x =`, and in range `$k, $v :=` at the start of a pipeline. */
  declarations(context: string): void {
    const vars: Token[] = [];
    let j = this.i;
    for (;;) {
      const v = this.tokens[j];
      const after = this.tokens[j + 1];
      if (v?.kind !== 'variable') return;
      vars.push(v);
      if (after?.kind === 'declare' || after?.kind === 'assign') {
        if (vars.length > 2 || (vars.length === 2 && context !== 'range')) this.problem(v, `too many declarations in ${context}`);
        const op = after.kind === 'declare' ? 'declare' : 'assign';
        this.i = j + 2;
        // The right-hand side is read first when assigning; a declaration is visible at once, as in Go's parser.
        for (const d of vars) this.out.variables.push({ op, name: d.text, line: d.line });
        return;
      }
      if (after?.kind !== 'punct' || after.text !== ',') return;
      j += 2;
    }
  }

  /** Operands up to a `|`, the end, or the `)` of a parenthesised pipeline. */
  command(context: string, inParens: boolean): void {
    let calls: string | undefined;
    for (let n = 0; ; n++) {
      const t = this.peek();
      if (t === undefined || t.kind === 'pipe' || (inParens && t.kind === 'rightParen')) return;
      if (n === 1 && calls === 'include') {
        const name = stringValue(t);
        this.out.includes.push({ name, line: t.line });
      }
      calls = n === 0 && t.kind === 'identifier' ? t.text : calls;
      this.operand(context);
    }
  }

  operand(context: string): void {
    const t = this.peek()!;
    this.i++;
    switch (t.kind) {
      case 'identifier':
        this.out.functions.push({ name: t.text, line: t.line });
        break;
      case 'variable':
        this.out.variables.push({ op: 'use', name: t.text, line: t.line });
        break;
      case 'leftParen':
        this.pipeline('parenthesized pipeline', true);
        if (this.peek()?.kind === 'rightParen') this.i++;
        else this.problem(t, 'unclosed left paren');
        break;
      case 'field':
      case 'dot':
      case 'string':
      case 'rawString':
      case 'char':
      case 'number':
      case 'bool':
      case 'nil':
        break;
      default:
        this.problem(t, `unexpected ${describe(t)} in ${context}`);
    }
    // a field of a variable or of a parenthesised value: $x.a, (f).a
    if ((t.kind === 'variable' || t.kind === 'leftParen') && this.peek()?.kind === 'field') this.i++;
  }

  /** Nothing may follow `end`, `else`, `break`, `continue`, `define "x"`. */
  expectEnd(what: string): void {
    if (this.peek() !== undefined) this.problem(this.peek(), `unexpected ${describe(this.peek())} in ${what}`);
  }

  /** The quoted template name of define, block and template. */
  templateName(what: string): string | undefined {
    const t = this.peek();
    const name = t && stringValue(t);
    if (name === undefined) this.problem(t, `${what}: expected a quoted template name, found ${describe(t)}`);
    else this.i++;
    return name;
  }
}

/** Parses one action. Pure. */
export function parseAction(action: TemplateAction): ParsedAction {
  const p = new Parser(action.tokens, action.line);
  const out = p.out;
  const first = p.peek();
  if (first === undefined) {
    p.problem(undefined, 'missing value for command (an empty action)');
    return out;
  }
  if (first.kind !== 'keyword') {
    p.pipeline('command', false);
    return out;
  }
  p.i++;
  const kw = first.text as Exclude<ActionKind, 'pipeline'>;
  out.kind = kw;
  switch (kw) {
    case 'if':
    case 'with':
    case 'range':
      p.pipeline(kw, false);
      break;
    case 'else': {
      const next = p.peek();
      if (next?.kind === 'keyword' && (next.text === 'if' || next.text === 'with')) {
        p.i++;
        out.elseControl = next.text;
        p.pipeline(next.text, false);
      } else p.expectEnd('else');
      break;
    }
    case 'end':
    case 'break':
    case 'continue':
      p.expectEnd(kw);
      break;
    case 'define':
      out.name = p.templateName('define');
      if (out.name !== undefined) p.expectEnd('define');
      break;
    case 'block':
      out.name = p.templateName('block');
      if (out.name !== undefined) p.pipeline('block', false);
      break;
    case 'template':
      out.name = p.templateName('template');
      if (out.name !== undefined && p.peek() !== undefined) p.pipeline('template', false);
      break;
  }
  return out;
}
