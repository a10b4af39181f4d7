// Conversions between the API's ExitStatus and the stored ExitInfo, and the
// key that identifies one exit across redeliveries.
import { dateFromTimestamp, timestampFromDate, type types } from '@berth/api';
import type { ExitInfo } from '../records.js';

/** Exit code Docker reports when a task's real exit status was lost. */
export const UNKNOWN_EXIT_CODE = 255;

export function exitInfoFrom(status: types.ExitStatus, fallbackTime: number): ExitInfo {
  return {
    exitCode: status.exitCode,
    signal: status.signal,
    oomKilled: status.oomKilled,
    exitedAt: status.exitedAt ? dateFromTimestamp(status.exitedAt).getTime() : fallbackTime,
  };
}

export function exitStatusFrom(exit: ExitInfo): types.ExitStatus {
  return {
    exitCode: exit.exitCode,
    signal: exit.signal,
    oomKilled: exit.oomKilled,
    exitedAt: timestampFromDate(new Date(exit.exitedAt)),
  };
}

/**
 * What identifies one exit of a process however often it is delivered: the
 * exit time the agent recorded (nanosecond precision), else the start of the
 * run it ended.
 */
export function exitKey(status: types.ExitStatus, runStartedAt: number | undefined): string {
  if (status.exitedAt) return `at:${status.exitedAt.seconds}.${String(status.exitedAt.nanos).padStart(9, '0')}`;
  return `run:${runStartedAt ?? 0}`;
}
