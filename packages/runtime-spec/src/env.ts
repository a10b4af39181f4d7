// Environment lists as Docker's daemon merges them: a later "KEY=VALUE"
// replaces the earlier entry with the same key in place, a bare "KEY"
// removes the key.
import { SpecError } from './errors.js';

/** The key of "KEY=VALUE" (or of a bare "KEY"). */
export function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/** `base` with each entry of `overrides` replacing, appending or (bare "KEY") removing. */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = [...base];
  for (const entry of overrides) {
    const key = envKey(entry);
    const at = out.findIndex((e) => envKey(e) === key);
    if (!entry.includes('=')) {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) out[at] = entry;
    else out.push(entry);
  }
  return out;
}

/** True when `env` sets `key` (to any value). */
export function hasEnv(env: readonly string[], key: string): boolean {
  return env.some((e) => e.includes('=') && envKey(e) === key);
}

/** SpecError naming the first entry that is not a string "KEY=VALUE" or "KEY" with a non-empty key and no NUL. */
export function checkEnv(env: readonly unknown[], field: string): void {
  env.forEach((entry, i) => {
    if (typeof entry !== 'string') throw new SpecError(`${field}[${i}]`, 'expected a string KEY=VALUE');
    const key = envKey(entry);
    if (key === '' || /\s/.test(key) || entry.includes('\0')) {
      throw new SpecError(`${field}[${i}]`, `invalid environment variable ${JSON.stringify(entry)}: expected KEY=VALUE`);
    }
  });
}
