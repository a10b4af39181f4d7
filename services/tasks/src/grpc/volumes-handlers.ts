// berth.tasks.v1.Volumes over the engine.
import { unary } from '@berth/service-kit';
import { tasks, timestampFromDate } from '@berth/api';
import type { TasksEngine } from '../engine.js';
import type { VolumeView } from '../volumes/api.js';
import { namespaceOf } from './namespace.js';

/** A volume as the API's Volume message. */
export function volumeMessage(v: VolumeView): tasks.Volume {
  return {
    name: v.volume.name,
    mountpoint: v.mountpoint,
    createdAt: timestampFromDate(new Date(v.volume.createdAt)),
    labels: v.volume.labels,
    anonymous: v.volume.anonymous,
    usedBy: v.usedBy,
    size: v.size,
    driver: 'local',
  };
}

export function volumesHandlers(engine: TasksEngine): tasks.VolumesServer {
  return {
    createVolume: unary<tasks.CreateVolumeRequest, tasks.CreateVolumeResponse>(async (req, call) => ({
      volume: volumeMessage(await engine.volumes.create(namespaceOf(call), req.name, req.labels)),
    })),
    getVolume: unary<tasks.GetVolumeRequest, tasks.GetVolumeResponse>(async (req, call) => ({
      volume: volumeMessage(await engine.volumes.get(namespaceOf(call), req.name, req.withSize)),
    })),
    listVolumes: unary<tasks.ListVolumesRequest, tasks.ListVolumesResponse>(async (req, call) => ({
      volumes: (await engine.volumes.list(namespaceOf(call), req.filters, req.withSize)).map(volumeMessage),
    })),
    removeVolume: unary<tasks.RemoveVolumeRequest, tasks.RemoveVolumeResponse>((req, call) => ({
      removed: engine.volumes.remove(namespaceOf(call), req.name, req.force),
    })),
    pruneVolumes: unary<tasks.PruneVolumesRequest, tasks.PruneVolumesResponse>(async (req, call) => engine.volumes.prune(namespaceOf(call), req.all, req.filters)),
  };
}
