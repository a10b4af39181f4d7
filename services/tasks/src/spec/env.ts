// Environment lists as Docker merges them: later "KEY=VALUE" entries replace
// earlier ones with the same key, a bare "KEY" removes the key.

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

/** True when `env` sets `key`. */
export function hasEnv(env: readonly string[], key: string): boolean {
  return env.some((e) => envKey(e) === key && e.includes('='));
}
