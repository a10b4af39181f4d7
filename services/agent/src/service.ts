// The agent service: its gRPC APIs (Agent, Runtime, Mounts, Netns, Cni) over
// the node's containers, and its reports on NATS (task events, heartbeats).
// main.ts runs it as a process; tests start it in-process with startService.
//
// At start it re-adopts what a previous agent left (recover), then reports
// every exit recorded on disk (watchExits with includeExisting), so an exit
// that happened while no agent ran, or whose event was not yet stored when
// the last agent died, is published now.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { serviceDefinitions, types } from '@berth/api';
import { assertNamespace } from '@berth/bus';
import { packageVersion, type ServiceContext, type ServiceRegistration, type ServiceSpec } from '@berth/service-kit';
import { agentConfigSchema, type AgentConfig } from './config.js';
import { readCgroupSystem } from './cgroups/layout.js';
import { ExecExitWatcher } from './events/exec-exits.js';
import { startHeartbeat } from './events/heartbeat.js';
import { NamespaceBook } from './events/namespaces.js';
import { TaskEvents } from './events/task-events.js';
import { agentHandlers } from './grpc/agent.js';
import { cniRegistration } from './grpc/cni.js';
import { mountsHandlers } from './grpc/mounts.js';
import { netnsRegistration } from './grpc/netns.js';
import { runtimeHandlers } from './grpc/runtime.js';
import { nodeCapacity } from './node/host.js';
import { componentVersions } from './node/versions.js';
import { ContainerRuntime } from './runtime/container-runtime.js';

async function setup(ctx: ServiceContext<AgentConfig>) {
  const { config, logger } = ctx;
  // Events of containers without a namespace go here: it must be usable in a subject.
  assertNamespace(config.namespace);
  const runtime = new ContainerRuntime({
    root: ctx.paths.stateDir,
    runtimePath: config.runtimePath,
    conmonPath: config.conmonPath,
    logger: logger.child({ component: 'runtime' }),
  });
  const report = await runtime.recover();
  logger.info(
    { containers: report.containers.length, removedIncomplete: report.removedIncomplete, removedOrphans: report.removedOrphans },
    'containers recovered',
  );

  const namespaces = new NamespaceBook(config.namespace);
  for (const c of report.containers) await namespaces.load(c.id, c.bundle);
  const taskEvents = new TaskEvents({
    bus: ctx.bus,
    logger: logger.child({ component: 'events' }),
    namespaces,
    initPid: (id) => runtime.initPid(id),
    bundleOf: async (id) => (await runtime.state(id)).bundle,
  });
  const versions = await componentVersions({
    agentVersion: ctx.version,
    runtimePath: config.runtimePath,
    conmonPath: config.conmonPath,
    cniPluginDirs: config.cni.pluginDirs,
  });
  const capacity = types.NodeCapacity.fromPartial(await nodeCapacity());
  const runningTasks = async (): Promise<number> => (await runtime.list()).filter((c) => c.status === 'running').length;

  // Timers last, so nothing is left running if an earlier step fails.
  const stopExits = runtime.watchExits((id, exit) => taskEvents.exited(id, exit), { includeExisting: true });
  const execExits = new ExecExitWatcher(runtime, taskEvents, logger.child({ component: 'events' }));
  await execExits.watchAll(report.containers.map((c) => c.id));
  const stopRotation = runtime.startLogRotation(config.logRotateIntervalMs);
  const heartbeat = startHeartbeat(
    ctx.bus,
    {
      nodeId: config.node,
      hostname: hostname(),
      namespace: config.namespace,
      agentAddress: config.advertiseAddress ?? `unix:${ctx.paths.socket}`,
      intervalMs: config.heartbeatIntervalMs,
      versions,
      capacity,
      runningContainers: runningTasks,
    },
    logger.child({ component: 'heartbeat' }),
  );

  const a = serviceDefinitions.agent;
  const implemented: ServiceRegistration[] = [
    {
      definition: a.Agent,
      handlers: agentHandlers({
        nodeId: config.node,
        versions,
        cgroupVersion: async () => (await readCgroupSystem()).version,
        capacity: async () => capacity,
        runningTasks,
        cniPluginDirs: config.cni.pluginDirs,
      }),
    },
    {
      definition: a.Runtime,
      handlers: runtimeHandlers({ runtime, events: taskEvents, execExits, namespaces, logMaxSize: config.logMaxSize, logMaxFiles: config.logMaxFiles }),
    },
    { definition: a.Mounts, handlers: mountsHandlers() },
    netnsRegistration({ prefix: config.netns.prefix }),
    cniRegistration({
      cni: {
        pluginDirs: config.cni.pluginDirs,
        cacheDir: config.cni.cacheDir ?? join(ctx.paths.stateDir, 'cni', 'results'),
        timeoutMs: config.cni.timeoutMs,
      },
    }),
  ];
  return {
    services: implemented,
    close: async () => {
      heartbeat.stop();
      stopRotation();
      stopExits();
      execExits.close();
      runtime.close();
      await Promise.all([taskEvents.close(), runtime.removalsSettled()]);
    },
  };
}

export const agentSpec: ServiceSpec<typeof agentConfigSchema> = {
  name: 'agent',
  version: packageVersion(import.meta.url),
  configSchema: agentConfigSchema,
  setup,
};
