// Facts about the host that runs runc, which the spec builder takes as
// inputs. Reading them is the only impure part of this package, kept here so
// the builder stays a pure function of its options.
import { readFileSync } from 'node:fs';

/** The hard "Max open files" limit in a /proc/<pid>/limits text; undefined when unlimited or absent. */
export function parseNofileHardLimit(limits: string): number | undefined {
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  if (hard === undefined || hard === 'unlimited') return undefined;
  const n = Number(hard);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** This process's hard open-files limit (from /proc/self/limits); undefined when unlimited or unreadable. */
export function readNofileHardLimit(path = '/proc/self/limits'): number | undefined {
  try {
    return parseNofileHardLimit(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}
