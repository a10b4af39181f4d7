// Facts about the node this service runs on, read once at start-up.
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import type { HostFacts } from './lifecycle/context.js';
import type { OciDevice } from './spec/oci.js';

/** The memory cgroup accounts swap (v1: memory.memsw.*; v2: the kernel has swap control). */
export function detectSwapAccounting(cgroupRoot = '/sys/fs/cgroup'): boolean {
  if (existsSync(join(cgroupRoot, 'cgroup.controllers'))) return existsSync('/proc/swaps');
  return existsSync(join(cgroupRoot, 'memory', 'memory.memsw.limit_in_bytes'));
}

/** Character and block devices directly under /dev, for privileged containers. */
export function listHostDevices(devDir = '/dev'): OciDevice[] {
  const devices: OciDevice[] = [];
  for (const name of readdirSync(devDir)) {
    const path = join(devDir, name);
    let st;
    try {
      st = lstatSync(path, { bigint: true });
    } catch {
      continue;
    }
    if (!st.isCharacterDevice() && !st.isBlockDevice()) continue;
    // Linux's dev_t encoding (glibc's major()/minor()).
    const rdev = st.rdev;
    const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
    const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
    devices.push({
      type: st.isCharacterDevice() ? 'c' : 'b',
      path,
      major,
      minor,
      fileMode: Number(st.mode & 0o777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
    });
  }
  return devices;
}

export function hostFacts(): HostFacts {
  return {
    cpus: availableParallelism(),
    memoryBytes: totalmem(),
    statPath: (path) => {
      try {
        const st = statSync(path);
        return st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other';
      } catch {
        return undefined;
      }
    },
    hostname: hostname(),
    swapAccounting: detectSwapAccounting(),
    hostDevices: () => listHostDevices(),
  };
}

/** The first init binary (for `--init`) found among the usual places, if any. */
export function findInitBinary(configured: string | undefined): string | undefined {
  if (configured) return configured;
  return ['/usr/bin/tini-static', '/usr/bin/tini', '/usr/libexec/docker/docker-init', '/usr/bin/docker-init', '/usr/libexec/podman/catatonit', '/usr/bin/catatonit'].find((p) =>
    existsSync(p),
  );
}
