// .dockerignore, read the way Docker reads it (moby/patternmatcher): one
// pattern a line, `#` comments, `!` exceptions, `*` and `?` within a path
// segment, `**` across segments; a path is excluded when the last pattern
// matching it or one of its parent directories is not an exception.

export interface IgnoreRule {
  pattern: string;
  exception: boolean;
  regex: RegExp;
}

const escapeRegex = (c: string) => c.replace(/[.+^${}()|\\]/g, '\\$&');

/** A pattern as the regexp moby compiles it to (anchored, `/`-separated). */
function compile(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') i++;
      re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) throw new Error(`.dockerignore: unterminated "[" in ${JSON.stringify(pattern)}`);
      re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += escapeRegex(pattern[++i]!);
    else re += escapeRegex(c);
  }
  return new RegExp(`^${re}$`);
}

/** Lexically cleaned like Go's filepath.Clean, without a leading `/`. */
function clean(pattern: string): string {
  const out: string[] = [];
  for (const seg of pattern.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length > 0 && out.at(-1) !== '..') out.pop();
    else out.push(seg);
  }
  return out.join('/') || '.';
}

/** The rules of a .dockerignore text. Pure. */
export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const exception = line.startsWith('!');
    if (exception) line = line.slice(1).trim();
    if (line === '') continue;
    const pattern = clean(line);
    rules.push({ pattern, exception, regex: compile(pattern) });
  }
  return rules;
}

/** Whether `relPath` (relative to the context, `/`-separated) is left out of the context. Pure. */
export function isIgnored(rules: readonly IgnoreRule[], relPath: string): boolean {
  const segments = relPath.split('/');
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((p) => rule.regex.test(p))) ignored = !rule.exception;
  }
  return ignored;
}
