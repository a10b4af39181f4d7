// Environment and label flags: -e KEY=VALUE, -e KEY (from the caller's
// environment), --env-file files, --label KEY=VALUE.
import { UsageError } from '../output.js';

const ENV_KEY = /^[^=\s]+$/;

/**
 * One -e value: "KEY=VALUE" as is; a bare "KEY" takes the caller's value and
 * is dropped (undefined) when the caller has none, as Docker does.
 */
export function parseEnvValue(input: string, env: NodeJS.ProcessEnv): string | undefined {
  const eq = input.indexOf('=');
  const key = eq < 0 ? input : input.slice(0, eq);
  if (!ENV_KEY.test(key)) {
    throw new UsageError(`invalid environment variable "${input}": the name must be non-empty, without whitespace or "="`);
  }
  if (eq >= 0) return input;
  const value = env[key];
  return value === undefined ? undefined : `${key}=${value}`;
}

/**
 * The variables of an --env-file: one KEY=VALUE per line, values taken
 * verbatim (no quotes or escapes, as Docker reads them), "#" comment lines and
 * blank lines skipped, a bare KEY taken from the caller's environment.
 */
export function parseEnvFile(text: string, file: string, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    try {
      const value = parseEnvValue(line, env);
      if (value !== undefined) out.push(value);
    } catch (err) {
      throw new UsageError(`${file}:${i + 1}: ${(err as Error).message}`);
    }
  });
  return out;
}

/** "KEY=VALUE" (or a bare "KEY" for an empty value) into a [key, value] pair. */
export function parseKeyValue(input: string, what = 'label'): [string, string] {
  const eq = input.indexOf('=');
  const key = eq < 0 ? input : input.slice(0, eq);
  if (key.trim() === '') throw new UsageError(`invalid ${what} "${input}": expected KEY=VALUE`);
  return [key, eq < 0 ? '' : input.slice(eq + 1)];
}

/** Labels from repeated KEY=VALUE flags; a later key wins. */
export function labelsFrom(values: string[], what = 'label'): Record<string, string> {
  return Object.fromEntries(values.map((v) => parseKeyValue(v, what)));
}
