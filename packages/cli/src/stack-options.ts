import type { StackOptions } from '@berth/stack';

export interface GlobalOptions {
  root?: string;
  runtimeDir?: string;
  namespace: string;
  debug?: boolean;
}

/** The launcher's options from env defaults, overridden by global flags. */
export async function stackOptions(g: GlobalOptions): Promise<StackOptions> {
  const { defaultStackOptions } = await import('@berth/stack');
  const o = defaultStackOptions();
  if (g.root) o.root = g.root;
  if (g.runtimeDir) o.runtimeDir = g.runtimeDir;
  return o;
}
