// A lexer for Go text/template as Helm uses it ({{ }} delimiters, `{{-`/`-}}`
// trim markers, `{{/* */}}` comments), following text/template/parse/lex.go
// closely enough that what it refuses, helm refuses too. It yields the
// actions (comments dropped) with their tokens; a lexing error ends the file,
// as it does in Go, since nothing after it can be read reliably.

export type TokenKind =
  | 'keyword' // block break continue define else end if range template with
  | 'identifier' // a function name
  | 'field' // .a.b.c (consecutive fields joined)
  | 'variable' // $ or $name
  | 'dot' // .
  | 'string' // "..."
  | 'rawString' // `...`
  | 'char' // '...'
  | 'number'
  | 'bool'
  | 'nil'
  | 'pipe'
  | 'leftParen'
  | 'rightParen'
  | 'declare' // :=
  | 'assign' // =
  | 'punct'; // any other printable ASCII character (Go's itemChar; only `,` is ever valid)

export interface Token {
  kind: TokenKind;
  text: string;
  line: number;
}

export interface TemplateAction {
  /** Line of the action's `{{`. */
  line: number;
  tokens: Token[];
}

export interface LexProblem {
  line: number;
  message: string;
}

export interface LexedTemplate {
  actions: TemplateAction[];
  problems: LexProblem[];
  /** False when a lexing error stopped the file: actions after it are missing. */
  complete: boolean;
}

export const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'template', 'with']);

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlphaNumeric = (c: string | undefined) => c !== undefined && /^[\p{L}\p{Nd}_]$/u.test(c);
const NUMBER = /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?\d+)?|\.\d[\d_]*(?:[eE][+-]?\d+)?)i?/;

class LexError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** Line numbers (1-based) of offsets in `text`. */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** Lexes a whole template file. Pure. */
export function lexTemplate(text: string): LexedTemplate {
  const lineOf = lineIndex(text);
  const actions: TemplateAction[] = [];
  const problems: LexProblem[] = [];
  let pos = 0;

  /** ` -}}` (space, dash, delimiter) or `}}` at `at`: the length of the closing delimiter, else 0. */
  const rightDelimAt = (at: number): number => {
    if (text.startsWith('}}', at)) return 2;
    if (isSpace(text[at]) && text.startsWith('-}}', at + 1)) return 4;
    return 0;
  };

  /** Text up to the next `{{`: a `}}` there closes no action (Go keeps it as text; in a chart it is a slip). */
  const scanText = (from: number, to: number) => {
    for (let i = text.indexOf('}}', from); i !== -1 && i < to; i = text.indexOf('}}', i + 2)) {
      problems.push({ line: lineOf(i), message: '"}}" outside any action: a "{{" is missing, or an action was closed early (write "} }" for YAML)' });
    }
  };

  /** Lexes one action; an error away from its `{{` line names where the action began (a missing `}}` shows up later). */
  const lexAction = (start: number, at: number): number => {
    try {
      return lexActionBody(start, at);
    } catch (err) {
      const line = lineOf(start);
      if (err instanceof LexError && err.line !== line) throw new LexError(err.line, `${err.message} (in the action opened at line ${line}: is its "}}" missing?)`);
      throw err;
    }
  };

  /** Lexes the inside of one action starting at `at`; returns the offset after its closing delimiter. */
  const lexActionBody = (start: number, at: number): number => {
    const line = lineOf(start);
    const tokens: Token[] = [];
    const push = (kind: TokenKind, from: number, to: number) => tokens.push({ kind, text: text.slice(from, to), line: lineOf(from) });
    let parens = 0;
    for (;;) {
      const close = rightDelimAt(at);
      if (close > 0) {
        if (parens > 0) throw new LexError(lineOf(at), 'unclosed left paren');
        actions.push({ line, tokens });
        return at + close;
      }
      const c = text[at];
      if (c === undefined) throw new LexError(line, 'unclosed action (no "}}" before the end of the file)');
      if (isSpace(c)) {
        at++;
        continue;
      }
      const from = at;
      if (c === '"' || c === "'") {
        const what = c === '"' ? 'quoted string' : 'character constant';
        for (at++; ; at++) {
          const d = text[at];
          if (d === '\\' && text[at + 1] !== undefined && text[at + 1] !== '\n') at++;
          else if (d === undefined || d === '\n') throw new LexError(lineOf(from), `unterminated ${what}`);
          else if (d === c) break;
        }
        push(c === '"' ? 'string' : 'char', from, ++at);
      } else if (c === '`') {
        const end = text.indexOf('`', at + 1);
        if (end === -1) throw new LexError(lineOf(from), 'unterminated raw quoted string');
        push('rawString', from, (at = end + 1));
      } else if (c === '$' || (c === '.' && !/\d/.test(text[at + 1] ?? '')) || isAlphaNumeric(c)) {
        if (/\d/.test(c)) {
          at = lexNumber(from);
          push('number', from, at);
          continue;
        }
        let kind: TokenKind;
        if (c === '.') {
          // a run of fields .a.b.c, or the dot alone
          for (at++; isAlphaNumeric(text[at]); ) {
            while (isAlphaNumeric(text[at])) at++;
            if (text[at] === '.' && isAlphaNumeric(text[at + 1])) at++;
          }
          kind = at - from === 1 ? 'dot' : 'field';
        } else {
          for (at++; isAlphaNumeric(text[at]); ) at++;
          const word = text.slice(from, at);
          kind = c === '$' ? 'variable' : KEYWORDS.has(word) ? 'keyword' : word === 'true' || word === 'false' ? 'bool' : word === 'nil' ? 'nil' : 'identifier';
        }
        const next = text[at];
        if (!(next === undefined || isSpace(next) || '.,|:()'.includes(next) || rightDelimAt(at) > 0)) {
          throw new LexError(lineOf(at), `bad character ${JSON.stringify(next)} after ${JSON.stringify(text.slice(from, at))}`);
        }
        push(kind, from, at);
      } else if (c === '+' || c === '-' || /\d/.test(c) || c === '.') {
        at = lexNumber(from);
        push('number', from, at);
      } else if (c === ':') {
        if (text[at + 1] !== '=') throw new LexError(lineOf(at), 'expected ":="');
        push('declare', from, (at += 2));
      } else if (c === '=' || c === '|' || c === '(' || c === ')') {
        if (c === '(') parens++;
        if (c === ')' && --parens < 0) throw new LexError(lineOf(at), 'unexpected right paren');
        push(c === '=' ? 'assign' : c === '|' ? 'pipe' : c === '(' ? 'leftParen' : 'rightParen', from, ++at);
      } else if (c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) < 0x7f) {
        push('punct', from, ++at);
      } else {
        throw new LexError(lineOf(at), `unrecognized character in action: ${JSON.stringify(c)}`);
      }
    }
  };

  const lexNumber = (from: number): number => {
    const m = NUMBER.exec(text.slice(from, from + 80));
    const end = from + (m?.[0].length ?? 0);
    if (!m || m[0] === '' || /^[+-]$/.test(m[0]) || isAlphaNumeric(text[end]) || text[end] === '.') {
      const word = /^[^\s|()}]*/.exec(text.slice(from))?.[0] ?? '';
      throw new LexError(lineOf(from), `bad number syntax: ${JSON.stringify(word)}`);
    }
    return end;
  };

  try {
    while (pos < text.length) {
      const open = text.indexOf('{{', pos);
      scanText(pos, open === -1 ? text.length : open);
      if (open === -1) break;
      let at = open + 2;
      if (text[at] === '-' && isSpace(text[at + 1])) at += 2; // left trim marker
      if (text.startsWith('/*', at)) {
        const end = text.indexOf('*/', at + 2);
        if (end === -1) throw new LexError(lineOf(open), 'unclosed comment');
        const close = rightDelimAt(end + 2);
        if (close === 0) throw new LexError(lineOf(end), 'comment ends before closing delimiter ("*/" must be followed by "}}" or " -}}")');
        pos = end + 2 + close;
        continue;
      }
      pos = lexAction(open, at);
    }
    return { actions, problems, complete: true };
  } catch (err) {
    if (!(err instanceof LexError)) throw err;
    problems.push({ line: err.line, message: err.message });
    return { actions, problems, complete: false };
  }
}
