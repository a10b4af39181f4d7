// The state a container shows, from its record and its node's reachability.
import { tasks } from '@berth/api';
import type { ContainerRecord } from './records.js';

const { ContainerState } = tasks;

/** The shown state: the record's phase, or UNKNOWN for a live task on a node that stopped heartbeating. */
export function displayState(record: ContainerRecord, nodeAvailable: boolean): tasks.ContainerState {
  const live = record.phase === 'running' || record.phase === 'paused' || record.task === 'present';
  if (!nodeAvailable && live) return ContainerState.UNKNOWN;
  switch (record.phase) {
    case 'creating':
    case 'created':
      return ContainerState.CREATED;
    case 'running':
      return ContainerState.RUNNING;
    case 'paused':
      return ContainerState.PAUSED;
    case 'restarting':
      return ContainerState.RESTARTING;
    case 'stopped':
    case 'removing':
      return ContainerState.STOPPED;
  }
}

/** "running" for RUNNING etc., as filters and the bus API spell states. */
export function stateWord(state: tasks.ContainerState): string {
  return state.replace('CONTAINER_STATE_', '').toLowerCase();
}
