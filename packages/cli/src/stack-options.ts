import { join } from 'node:path';
import type { StackOptions } from '@berth/stack';
import type { CliIo } from './stdio/io.js';

export interface GlobalOptions {
  root?: string;
  runtimeDir?: string;
  namespace: string;
  debug?: boolean;
  /** The stdio, environment and signals of the command's caller. */
  io: CliIo;
}

export type ServiceName = 'images' | 'snapshots' | 'tasks' | 'networking' | 'agent';

/** Where the service sockets and state files are: --runtime-dir, else BERTH_RUNTIME_DIR, else /run/berth. */
export function runtimeDirOf(g: GlobalOptions): string {
  return g.runtimeDir ?? g.io.env['BERTH_RUNTIME_DIR'] ?? '/run/berth';
}

export const socketOf = (runtimeDir: string, service: ServiceName): string => join(runtimeDir, `${service}.sock`);

/** The launcher's options from env defaults, overridden by global flags. */
export async function stackOptions(g: GlobalOptions): Promise<StackOptions> {
  const { defaultStackOptions } = await import('@berth/stack');
  const o = defaultStackOptions();
  if (g.root) o.root = g.root;
  if (g.runtimeDir) o.runtimeDir = g.runtimeDir;
  // the CLI host: `berth` runs its commands there when it is up (src/host/)
  o.companions = [{ name: 'cli-host', main: (await import('./host/location.js')).hostMain(), address: `unix:${join(o.runtimeDir, 'cli.sock')}` }];
  return o;
}
