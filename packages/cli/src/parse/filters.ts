// `--filter key=value` flags, checked against the keys a listing accepts
// before anything is sent, so a typo names the valid keys.
import { UsageError } from '../output.js';

export interface Filter {
  key: string;
  value: string;
}

/** Parses repeated --filter values; each must be key=value with a key from `allowed`. */
export function parseFilters(values: string[], allowed: readonly string[]): Filter[] {
  return values.map((raw) => {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid filter "${raw}": expected key=value`);
    const key = raw.slice(0, eq).trim().toLowerCase();
    if (!allowed.includes(key)) {
      throw new UsageError(`invalid filter "${raw}": unknown key "${key}" (valid keys: ${allowed.join(', ')})`);
    }
    return { key, value: raw.slice(eq + 1) };
  });
}

/** key=value strings as the services' filters fields take them. */
export const filterStrings = (filters: Filter[]): string[] => filters.map((f) => `${f.key}=${f.value}`);

/** Docker's container states in `ps --filter status=` to the tasks service's. */
const STATUS_ALIASES: Record<string, string> = { exited: 'stopped', dead: 'stopped' };
const CONTAINER_STATES = ['created', 'running', 'paused', 'restarting', 'stopped', 'exited', 'dead', 'unknown'];

/** The filters `ps` accepts; `exited` (an exit code) is applied by the CLI. */
export const PS_FILTER_KEYS = ['id', 'name', 'label', 'status', 'ancestor', 'node', 'network', 'exited'] as const;

/**
 * Splits `ps` filters into those the tasks service applies (status names
 * translated) and the exit codes the CLI checks itself.
 */
export function psFilters(filters: Filter[]): { service: string[]; exitCodes: number[] } {
  const service: string[] = [];
  const exitCodes: number[] = [];
  for (const f of filters) {
    if (f.key === 'exited') {
      if (!/^-?\d+$/.test(f.value)) throw new UsageError(`invalid filter "exited=${f.value}": expected an exit code`);
      exitCodes.push(Number(f.value));
    } else if (f.key === 'status') {
      const state = f.value.toLowerCase();
      if (!CONTAINER_STATES.includes(state)) {
        throw new UsageError(`invalid filter "status=${f.value}": use one of ${CONTAINER_STATES.join(', ')}`);
      }
      service.push(`status=${STATUS_ALIASES[state] ?? state}`);
    } else service.push(`${f.key}=${f.value}`);
  }
  return { service, exitCodes };
}
