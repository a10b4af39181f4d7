// Facts about the node this service runs on, read once at start-up.
import { existsSync } from 'node:fs';
import { availableParallelism, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { readNofileHardLimit } from '@berth/runtime-spec';
import type { HostFacts } from './lifecycle/context.js';

/** The memory cgroup accounts swap (v1: memory.memsw.*; v2: the kernel has swap control). */
export function detectSwapAccounting(cgroupRoot = '/sys/fs/cgroup'): boolean {
  if (existsSync(join(cgroupRoot, 'cgroup.controllers'))) return existsSync('/proc/swaps');
  return existsSync(join(cgroupRoot, 'memory', 'memory.memsw.limit_in_bytes'));
}

export function hostFacts(): HostFacts {
  return {
    cpus: availableParallelism(),
    memoryBytes: totalmem(),
    hostname: hostname(),
    swapAccounting: detectSwapAccounting(),
    nofileHardLimit: readNofileHardLimit(),
  };
}

/** The first init binary (for `--init`) found among the usual places, if any. */
export function findInitBinary(configured: string | undefined): string | undefined {
  if (configured) return configured;
  return ['/usr/bin/tini-static', '/usr/bin/tini', '/usr/libexec/docker/docker-init', '/usr/bin/docker-init', '/usr/libexec/podman/catatonit', '/usr/bin/catatonit'].find((p) =>
    existsSync(p),
  );
}
