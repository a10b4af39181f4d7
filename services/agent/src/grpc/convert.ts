// Conversions between the agent core's values and the berth.agent.v1 /
// berth.types.v1 messages. Pure.
import { agent, timestampFromDate, types } from '@berth/api';
import type { CgroupStats } from '../cgroups/stats.js';
import { ContainerError } from '../errors.js';
import type { Mount as MountSpec } from '@berth/mount';
import type { TerminalSize } from '../runtime/checks.js';
import type { ExitStatus } from '../runtime/exit-status.js';
import type { ContainerState, ContainerStatus } from '../runtime/types.js';
import { signalNumber } from '@berth/runtime-spec';

const STATUS: Record<ContainerStatus, agent.TaskStatus> = {
  created: agent.TaskStatus.CREATED,
  running: agent.TaskStatus.RUNNING,
  paused: agent.TaskStatus.PAUSED,
  stopped: agent.TaskStatus.STOPPED,
};

export function taskStatus(status: ContainerStatus): agent.TaskStatus {
  return STATUS[status];
}

export function exitStatusMessage(exit: ExitStatus): types.ExitStatus {
  const at = new Date(exit.exitedAt);
  return types.ExitStatus.fromPartial({
    exitCode: exit.exitCode,
    signal: exit.signal !== undefined ? (signalNumber(exit.signal) ?? 0) : 0,
    oomKilled: exit.oomKilled,
    ...(Number.isNaN(at.getTime()) ? {} : { exitedAt: timestampFromDate(at) }),
  });
}

export function taskState(state: ContainerState, execIds: string[]): agent.TaskState {
  const created = new Date(state.createdAt);
  return agent.TaskState.fromPartial({
    containerId: state.id,
    status: taskStatus(state.status),
    pid: state.status === 'stopped' ? 0 : (state.pid ?? 0),
    bundlePath: state.bundle,
    ...(state.exit ? { exitStatus: exitStatusMessage(state.exit) } : {}),
    ...(Number.isNaN(created.getTime()) ? {} : { createdAt: timestampFromDate(created) }),
    execIds,
  });
}

/** Snapshot mounts as the core mounts them (their targets are the rootfs, so ignored). */
export function mountSpecs(mounts: readonly types.Mount[]): MountSpec[] {
  return mounts.map((m) => ({ type: m.type, source: m.source, options: [...m.options] }));
}

/** A `*_json` field: must hold a JSON object. */
export function jsonObject(bytes: Uint8Array, field: string): Record<string, unknown> {
  if (bytes.length === 0) throw new ContainerError('INVALID_ARGUMENT', `${field} is required`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ContainerError('INVALID_ARGUMENT', `${field} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ContainerError('INVALID_ARGUMENT', `${field} must be a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

export function terminalSize(size: types.TtySize | undefined): TerminalSize {
  if (!size) throw new ContainerError('INVALID_ARGUMENT', 'size is required');
  return { height: size.height, width: size.width };
}

/** A signal number of a request; 0 (unset) is refused rather than guessed. */
export function requestSignal(signal: number): number {
  const n = signalNumber(signal);
  if (n === undefined) throw new ContainerError('INVALID_ARGUMENT', `invalid signal ${signal}: expected a number from 1 to 64`);
  return n;
}

export interface HostCpuSample {
  onlineCpus: number;
  /** Host-wide CPU time (all CPUs, all modes) at the sample, in ns. */
  systemUsageNs: number;
}

export function taskStats(
  containerId: string,
  stats: CgroupStats,
  host: HostCpuSample,
  networks: types.NetworkInterfaceStats[],
  readAt: Date,
): types.TaskStats {
  const m = stats.memory;
  return types.TaskStats.fromPartial({
    containerId,
    readAt: timestampFromDate(readAt),
    cpu: {
      usageTotalNs: stats.cpu.usageNs,
      usageUserNs: stats.cpu.userNs ?? 0,
      usageSystemNs: stats.cpu.systemNs ?? 0,
      throttlingPeriods: stats.cpu.throttling?.periods ?? 0,
      throttledPeriods: stats.cpu.throttling?.throttledPeriods ?? 0,
      throttledTimeNs: stats.cpu.throttling?.throttledTimeNs ?? 0,
      onlineCpus: host.onlineCpus,
      systemUsageNs: host.systemUsageNs,
    },
    memory: {
      usageBytes: m.usageBytes,
      maxUsageBytes: m.maxUsageBytes ?? 0,
      limitBytes: m.limitBytes ?? 0,
      cacheBytes: m.cacheBytes ?? 0,
      rssBytes: m.rssBytes ?? 0,
      swapBytes: m.swapBytes ?? 0,
      oomEvents: m.oomKills ?? 0,
    },
    pids: { current: stats.pids.current, limit: stats.pids.limit ?? 0 },
    networks,
    cgroupVersion: stats.cgroupVersion,
  });
}
