import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface IpRouteJson {
  dst?: string;
  type?: string;
}

/** Route destinations from `ip -j route` output, as CIDRs; "default" and non-prefix entries are dropped. */
export function routeDestinations(json: string, family: 4 | 6): string[] {
  const routes = JSON.parse(json || '[]') as IpRouteJson[];
  const out: string[] = [];
  for (const r of routes) {
    const dst = r.dst;
    if (!dst || dst === 'default') continue;
    if (r.type === 'multicast' || r.type === 'broadcast') continue;
    out.push(dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`);
  }
  return out;
}

/**
 * Prefixes this host already routes (every table), which an automatically
 * chosen subnet must not overlap.
 */
export async function readHostRoutes(): Promise<string[]> {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    let stdout: string;
    try {
      ({ stdout } = await run('ip', ['-j', `-${family}`, 'route', 'show', 'table', 'all']));
    } catch (e) {
      throw new Error(`cannot read the host's routes (ip -j -${family} route): ${(e as Error).message}`);
    }
    out.push(...routeDestinations(stdout, family));
  }
  return out;
}
