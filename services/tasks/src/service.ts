// The tasks service process: its store, neighbours, engine, gRPC APIs,
// heartbeats and bus API, wired from the service kit's context.
import { join } from 'node:path';
import { events, tasks } from '@berth/api';
import { HEARTBEAT_PATTERN, HEARTBEAT_REQUEST_SUBJECT, type DurableConsumer, type Unsubscribe } from '@berth/bus';
import { peerAddress, type ServiceContext, type ServiceSetup } from '@berth/service-kit';
import { GrpcAgentDirectory } from './adapters/agent.js';
import { BusEventSink } from './adapters/bus-events.js';
import { GrpcImages } from './adapters/images.js';
import { GrpcNetworking } from './adapters/networking.js';
import { GrpcSnapshots } from './adapters/snapshots.js';
import { consumeAgentExits } from './bus-api/agent-exits.js';
import { serveBusApi } from './bus-api/serve.js';
import type { TasksConfig } from './config.js';
import { TasksEngine } from './engine.js';
import { containersHandlers } from './grpc/containers-handlers.js';
import { nodesHandlers } from './grpc/nodes-handlers.js';
import { tasksHandlers } from './grpc/tasks-handlers.js';
import { volumesHandlers } from './grpc/volumes-handlers.js';
import { findInitBinary, hostFacts } from './host.js';
import type { ReconcileReport } from './lifecycle/reconcile.js';
import { NodeRegistry } from './nodes/registry.js';
import { openTasksStore } from './store/schema.js';

/** A heartbeat payload (proto JSON of NodeHeartbeat) with a node id, or a throw. */
function heartbeatPayload(payload: unknown): events.NodeHeartbeat {
  const hb = events.NodeHeartbeat.fromJSON(payload);
  if (hb.nodeId === '') throw new Error('heartbeat without node_id');
  return hb;
}

export async function setupTasksService(ctx: ServiceContext<TasksConfig>): Promise<ServiceSetup> {
  const { config: cfg, logger, bus } = ctx;
  const t = cfg.tasks;
  const db = openTasksStore(join(ctx.paths.stateDir, 'tasks.db'));
  let engine: TasksEngine | undefined;
  let closed = false;

  const registry = new NodeRegistry(db, {
    defaultIntervalSeconds: t.heartbeatIntervalSeconds,
    missedBeats: t.missedHeartbeats,
    onChange: (node, change) => {
      if (change === 'unavailable') {
        logger.warn({ node: node.id, lastHeartbeatAt: new Date(node.lastHeartbeatAt).toISOString() }, 'node unavailable: heartbeats stopped');
      } else {
        logger.info({ node: node.id, change }, 'node ready');
        // A (re)registered agent may have restarted: match records with its tasks again.
        if (engine && !closed) void engine.reconcileNode(node.id).catch((err: unknown) => logger.error({ err, node: node.id }, 'reconcile failed'));
      }
      if (!closed) {
        void bus
          .publish(cfg.namespace, change === 'unavailable' ? 'nodes.unavailable' : 'nodes.ready', {
            nodeId: node.id,
            hostname: node.hostname,
            lastHeartbeatAt: new Date(node.lastHeartbeatAt).toISOString(),
          })
          .catch((err: unknown) => logger.warn({ err }, 'publishing a node event failed'));
      }
    },
  });

  const agents = new GrpcAgentDirectory(
    (nodeId) => (nodeId === cfg.node ? peerAddress('agent', cfg) : registry.get(nodeId)?.agentAddress || undefined),
    t.callTimeoutMs,
  );
  const images = new GrpcImages(peerAddress('images', cfg), t.callTimeoutMs);
  const snapshots = new GrpcSnapshots(peerAddress('snapshots', cfg), t.callTimeoutMs);
  const networking = new GrpcNetworking(peerAddress('networking', cfg), t.callTimeoutMs);
  const initBinary = findInitBinary(t.initPath);
  if (!initBinary) logger.info('no init binary (tini, catatonit) found: --init is refused until tasks.initPath is set');

  engine = new TasksEngine({
    db,
    agents,
    images,
    snapshots,
    networking,
    events: new BusEventSink(bus),
    nodes: registry,
    logger,
    settings: {
      nodeId: cfg.node,
      eventNamespace: cfg.namespace,
      stateDir: ctx.paths.stateDir,
      cgroupParent: t.cgroupParent,
      initBinary,
      host: hostFacts(),
      backoff: t.restartBackoff,
      logMaxBytes: t.logMaxBytes,
      logMaxFiles: t.logMaxFiles,
      defaultStopTimeoutSeconds: t.stopTimeoutSeconds,
      killGraceMs: t.killGraceMs,
    },
  });
  const running = engine;

  // Reconcile before serving; while the agent or the networking service cannot be reached, keep trying.
  let retry: NodeJS.Timeout | undefined;
  const retryIfDeferred = (report: ReconcileReport) => {
    if ((!report.deferred && !report.networkDeferred) || closed) return;
    retry = setTimeout(() => {
      running.reconcileNode(cfg.node).then(retryIfDeferred, (err: unknown) => logger.error({ err }, 'reconcile failed'));
    }, t.reconcileRetryMs);
  };
  retryIfDeferred(await running.start());

  const unsubscribes: Unsubscribe[] = [];
  unsubscribes.push(
    bus.subscribe(HEARTBEAT_PATTERN, (envelope) => void registry.heartbeat(envelope.payload), { validatePayload: heartbeatPayload }),
  );
  // the agents beat every few seconds: ask them for one now rather than knowing no node until then
  bus.connection.publish(HEARTBEAT_REQUEST_SUBJECT);
  const sweep = setInterval(() => registry.sweep(), Math.max(500, (t.heartbeatIntervalSeconds * 1000) / 2));
  unsubscribes.push(serveBusApi(bus, running, cfg.node));
  // Exits the agents reported while this service was down (or not watching) are stored in JetStream.
  const agentExits: DurableConsumer = await consumeAgentExits(bus, running.runtime, cfg.node);

  return {
    services: [
      { definition: tasks.ContainersService, handlers: containersHandlers(running) },
      { definition: tasks.TasksService, handlers: tasksHandlers(running) },
      { definition: tasks.NodesService, handlers: nodesHandlers(registry) },
      { definition: tasks.VolumesService, handlers: volumesHandlers(running) },
    ],
    close: async () => {
      closed = true;
      clearTimeout(retry);
      clearInterval(sweep);
      for (const unsubscribe of unsubscribes) unsubscribe();
      await agentExits.stop();
      await running.close();
      agents.close();
      images.close();
      snapshots.close();
      networking.close();
      db.close();
    },
  };
}
