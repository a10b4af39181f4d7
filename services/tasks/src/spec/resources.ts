// Container resources (the proto's Resources) as OCI Linux resources.
import type { tasks } from '@berth/api';
import type { OciLinuxResources } from './oci.js';

export const CPU_PERIOD_US = 100_000;

export interface HostResourceFacts {
  /** The kernel accounts swap in the memory cgroup (memory.memsw / memory.swap.max exist). */
  swapAccounting: boolean;
}

/** OCI memory, cpu and pids resources for `resources` (device rules are added by the spec builder). */
export function ociResources(resources: tasks.Resources | undefined, host: HostResourceFacts): OciLinuxResources {
  const out: OciLinuxResources = {};
  if (!resources) return out;
  const memory: NonNullable<OciLinuxResources['memory']> = {};
  if (resources.memoryBytes > 0) {
    memory.limit = resources.memoryBytes;
    if (host.swapAccounting) {
      // Docker: unset swap means as much swap as memory (memory+swap = 2x memory); -1 is unlimited.
      if (resources.memorySwapBytes === -1) memory.swap = -1;
      else if (resources.memorySwapBytes > 0) memory.swap = resources.memorySwapBytes;
      else memory.swap = resources.memoryBytes * 2;
    }
  }
  if (Object.keys(memory).length > 0) out.memory = memory;

  const cpu: NonNullable<OciLinuxResources['cpu']> = {};
  if (resources.nanoCpus > 0) {
    cpu.period = CPU_PERIOD_US;
    cpu.quota = Math.round((resources.nanoCpus * CPU_PERIOD_US) / 1e9);
  }
  if (resources.cpuShares > 0) cpu.shares = resources.cpuShares;
  if (resources.cpusetCpus !== '') cpu.cpus = resources.cpusetCpus;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  if (resources.pidsLimit > 0 || resources.pidsLimit === -1) out.pids = { limit: resources.pidsLimit };
  return out;
}
