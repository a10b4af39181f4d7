import { join } from 'node:path';
import type { StackOptions } from '@berth/stack';

export interface GlobalOptions {
  root?: string;
  runtimeDir?: string;
  namespace: string;
  debug?: boolean;
}

export type ServiceName = 'images' | 'snapshots' | 'tasks' | 'networking' | 'agent';

/** Where the service sockets and state files are: --runtime-dir, else BERTH_RUNTIME_DIR, else /run/berth. */
export function runtimeDirOf(g: GlobalOptions): string {
  return g.runtimeDir ?? process.env['BERTH_RUNTIME_DIR'] ?? '/run/berth';
}

export const socketOf = (runtimeDir: string, service: ServiceName): string => join(runtimeDir, `${service}.sock`);

/** The launcher's options from env defaults, overridden by global flags. */
export async function stackOptions(g: GlobalOptions): Promise<StackOptions> {
  const { defaultStackOptions } = await import('@berth/stack');
  const o = defaultStackOptions();
  if (g.root) o.root = g.root;
  if (g.runtimeDir) o.runtimeDir = g.runtimeDir;
  return o;
}
