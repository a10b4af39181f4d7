// berth.tasks.v1.Containers over the engine.
import { unary } from '@berth/service-kit';
import type { tasks } from '@berth/api';
import type { TasksEngine } from '../engine.js';
import type { ContainerRecord } from '../records.js';
import { containerMessage } from './convert.js';
import { namespaceOf } from './namespace.js';

export function containersHandlers(engine: TasksEngine): tasks.ContainersServer {
  const view = (rec: ContainerRecord) => containerMessage(rec, engine.containers.stateOf(rec));
  return {
    createContainer: unary<tasks.CreateContainerRequest, tasks.CreateContainerResponse>(async (req, call) => ({
      container: view(await engine.containers.create(namespaceOf(call), req)),
    })),
    getContainer: unary<tasks.GetContainerRequest, tasks.GetContainerResponse>((req, call) => ({
      container: view(engine.containers.get(namespaceOf(call), req.id)),
    })),
    listContainers: unary<tasks.ListContainersRequest, tasks.ListContainersResponse>((req, call) => ({
      containers: engine.containers.list(namespaceOf(call), req.filters).map(view),
    })),
    updateContainer: unary<tasks.UpdateContainerRequest, tasks.UpdateContainerResponse>(async (req, call) => ({
      container: view(await engine.containers.update(namespaceOf(call), req)),
    })),
    deleteContainer: unary<tasks.DeleteContainerRequest, tasks.DeleteContainerResponse>(async (req, call) => ({
      container: view(await engine.containers.remove(namespaceOf(call), req.id, { force: req.force, keepLogs: req.keepLogs })),
    })),
    renameContainer: unary<tasks.RenameContainerRequest, tasks.RenameContainerResponse>(async (req, call) => ({
      container: view(await engine.containers.rename(namespaceOf(call), req.id, req.name)),
    })),
    connectNetwork: unary<tasks.ConnectNetworkRequest, tasks.ConnectNetworkResponse>(async (req, call) => ({
      container: view(await engine.containers.connect(namespaceOf(call), req.containerId, req.endpoint)),
    })),
    disconnectNetwork: unary<tasks.DisconnectNetworkRequest, tasks.DisconnectNetworkResponse>(async (req, call) => ({
      container: view(await engine.containers.disconnect(namespaceOf(call), req.containerId, req.network, req.force)),
    })),
  };
}
