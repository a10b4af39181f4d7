// The capabilities the agent itself holds: all a privileged container (or
// exec) can be given on this node, whatever the kernel knows (containerd's
// WithAllCurrentCapabilities). runc refuses to grant more.
import { readFile } from 'node:fs/promises';
import { capabilitiesFromMask } from '@berth/runtime-spec';

/** The effective capabilities in a /proc/<pid>/status text, by name. */
export function parseEffectiveCapabilities(status: string): string[] {
  const hex = /^CapEff:\s*([0-9a-f]+)\s*$/im.exec(status)?.[1];
  if (hex === undefined) throw new Error('no CapEff line in the process status');
  return capabilitiesFromMask(hex);
}

export async function currentCapabilities(statusPath = '/proc/self/status'): Promise<string[]> {
  return parseEffectiveCapabilities(await readFile(statusPath, 'utf8'));
}
