// Container records as the API's Container messages.
import { tasks, timestampFromDate } from '@berth/api';
import { exitStatusFrom } from '../lifecycle/exit-status.js';
import type { ContainerRecord } from '../records.js';
import { withTaskEnvironment } from '@berth/runtime-spec';

const ts = (ms: number) => timestampFromDate(new Date(ms));

/** The runtime spec the task runs (or would run) with. */
function effectiveRuntimeSpec(rec: ContainerRecord) {
  return rec.task === 'present' ? withTaskEnvironment(rec.runtimeSpec, { netnsPath: rec.netnsPath || undefined, nameFiles: rec.nameFiles }) : rec.runtimeSpec;
}

export function containerMessage(rec: ContainerRecord, state: tasks.ContainerState): tasks.Container {
  const running = state === tasks.ContainerState.RUNNING || state === tasks.ContainerState.PAUSED;
  return {
    id: rec.id,
    name: rec.name,
    spec: rec.spec,
    imageName: rec.imageName,
    imageId: rec.imageId,
    runtimeSpecJson: Buffer.from(JSON.stringify(effectiveRuntimeSpec(rec))),
    status: {
      state,
      pid: running ? rec.pid : 0,
      exitStatus: rec.exit ? exitStatusFrom(rec.exit) : undefined,
      startedAt: rec.startedAt !== undefined ? ts(rec.startedAt) : undefined,
      restartCount: rec.restartCount,
      nodeId: rec.nodeId,
      addresses: rec.networks.map((n) => ({
        network: n.network,
        interfaceName: n.interfaceName,
        address: n.address,
        gateway: n.gateway,
        macAddress: n.macAddress,
      })),
      ports: rec.networks.flatMap((n) => n.ports),
      error: rec.error,
    },
    createdAt: ts(rec.createdAt),
    updatedAt: ts(rec.updatedAt),
  };
}
