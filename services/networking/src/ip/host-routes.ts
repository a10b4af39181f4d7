import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface IpRouteJson {
  dst?: string;
  dev?: string;
  type?: string;
}

/**
 * Route destinations from `ip -j route` output, as CIDRs; "default" and
 * non-prefix entries are dropped, and so are routes on `ownDevice` (the
 * bridge the network being created will use: a leftover of that very
 * bridge must not push its network onto another subnet).
 */
export function routeDestinations(json: string, family: 4 | 6, ownDevice?: string): string[] {
  const routes = JSON.parse(json || '[]') as IpRouteJson[];
  const out: string[] = [];
  for (const r of routes) {
    const dst = r.dst;
    if (!dst || dst === 'default') continue;
    if (ownDevice && r.dev === ownDevice) continue;
    if (r.type === 'multicast' || r.type === 'broadcast') continue;
    out.push(dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`);
  }
  return out;
}

/**
 * Prefixes this host already routes (every table), which an automatically
 * chosen subnet must not overlap.
 */
export async function readHostRoutes(ownDevice?: string): Promise<string[]> {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    let stdout: string;
    try {
      ({ stdout } = await run('ip', ['-j', `-${family}`, 'route', 'show', 'table', 'all']));
    } catch (e) {
      throw new Error(`cannot read the host's routes (ip -j -${family} route): ${(e as Error).message}`);
    }
    out.push(...routeDestinations(stdout, family, ownDevice));
  }
  return out;
}
