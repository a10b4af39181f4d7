// What a task adds to a container's spec once its environment exists: the
// network namespace to join and the name files (/etc/hosts and friends).
import type { OciSpec } from './types.js';

/** Host paths of a container's name files, bind-mounted over /etc/hosts, /etc/hostname, /etc/resolv.conf. */
export interface NameFiles {
  hostsPath: string;
  hostnamePath: string;
  resolvConfPath: string;
}

/**
 * `base` joining the network namespace at `netnsPath` (if given), with the
 * name files bind-mounted unless the user mounted something over them.
 * `base` is left untouched.
 */
export function withTaskEnvironment(base: OciSpec, env: { netnsPath?: string | undefined; nameFiles?: NameFiles | undefined }): OciSpec {
  const spec = structuredClone(base);
  spec.linux.namespaces = spec.linux.namespaces.map((ns) =>
    ns.type === 'network' && env.netnsPath ? { type: 'network', path: env.netnsPath } : ns,
  );
  if (env.nameFiles) {
    const taken = new Set(spec.mounts.map((m) => m.destination));
    const options = ['rbind', 'rprivate', ...(base.root.readonly ? ['ro'] : [])];
    const files: [string, string][] = [
      ['/etc/resolv.conf', env.nameFiles.resolvConfPath],
      ['/etc/hostname', env.nameFiles.hostnamePath],
      ['/etc/hosts', env.nameFiles.hostsPath],
    ];
    for (const [destination, source] of files) {
      if (!taken.has(destination) && source !== '') spec.mounts.push({ destination, type: 'bind', source, options });
    }
  }
  return spec;
}
