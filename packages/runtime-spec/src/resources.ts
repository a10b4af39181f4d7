// Container limits as OCI Linux resources (memory, cpu, pids), Docker's way.
import { SpecError } from './errors.js';
import type { OciLinuxResources } from './types.js';

export const CPU_PERIOD_US = 100_000;

/** Limits as the berth API gives them: 0 (or absent) means unset. */
export interface ResourceLimits {
  memoryBytes?: number;
  /** Memory plus swap; -1 for unlimited swap; unset: twice the memory, as Docker. */
  memorySwapBytes?: number;
  memoryReservationBytes?: number;
  /** CPUs in billionths (1.5 CPUs = 1.5e9), as a CFS quota over a 100 ms period. */
  nanoCpus?: number;
  cpuShares?: number;
  /** e.g. "0-1,3". */
  cpusetCpus?: string;
  /** Maximum number of processes; -1 for unlimited. */
  pidsLimit?: number;
}

export interface ResourceHostFacts {
  /** The kernel accounts swap in the memory cgroup (memory.memsw / memory.swap.max exist). */
  swapAccounting?: boolean;
}

function count(value: number | undefined, field: string, min = 0): number {
  const n = value ?? 0;
  if (!Number.isSafeInteger(n) || n < min) throw new SpecError(field, `must be an integer of at least ${min}, got ${value}`);
  return n;
}

/** OCI memory, cpu and pids resources for `limits`; device rules are the builder's. */
export function linuxResources(limits: ResourceLimits | undefined, host: ResourceHostFacts = {}): OciLinuxResources {
  const out: OciLinuxResources = {};
  if (!limits) return out;
  const memoryBytes = count(limits.memoryBytes, 'resources.memoryBytes');
  const swapBytes = count(limits.memorySwapBytes, 'resources.memorySwapBytes', -1);
  const reservation = count(limits.memoryReservationBytes, 'resources.memoryReservationBytes');
  const memory: NonNullable<OciLinuxResources['memory']> = {};
  if (memoryBytes > 0) {
    memory.limit = memoryBytes;
    // Without swap accounting the kernel has no memsw limit to set (Docker drops it with a warning).
    if (host.swapAccounting) memory.swap = swapBytes === -1 ? -1 : swapBytes > 0 ? swapBytes : memoryBytes * 2;
  }
  if (reservation > 0) memory.reservation = reservation;
  if (Object.keys(memory).length > 0) out.memory = memory;

  const nanoCpus = count(limits.nanoCpus, 'resources.nanoCpus');
  const shares = count(limits.cpuShares, 'resources.cpuShares');
  const cpu: NonNullable<OciLinuxResources['cpu']> = {};
  if (nanoCpus > 0) {
    cpu.period = CPU_PERIOD_US;
    cpu.quota = Math.round((nanoCpus * CPU_PERIOD_US) / 1e9);
  }
  if (shares > 0) cpu.shares = shares;
  if (limits.cpusetCpus) {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(limits.cpusetCpus)) {
      throw new SpecError('resources.cpusetCpus', `expected a list such as "0-1,3", got ${JSON.stringify(limits.cpusetCpus)}`);
    }
    cpu.cpus = limits.cpusetCpus;
  }
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  const pids = count(limits.pidsLimit, 'resources.pidsLimit', -1);
  if (pids !== 0) out.pids = { limit: pids };
  return out;
}
