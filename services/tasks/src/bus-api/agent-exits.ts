// The agents' exit reports: each agent publishes `agent.task.exit` durably
// (stored by JetStream, re-reported at every agent start), and this service
// consumes them with its own durable consumer, so an exit that happened while
// it was down, or while its WaitTask watch was broken, still gets recorded.
// Recording is idempotent (keyed by the exit), so a report of an exit already
// seen through WaitTask or reconcile changes nothing. This service, not the
// agent, publishes the public tasks.exit that results.
import { eventPayloads, type events } from '@berth/api';
import { eventPattern, type Bus, type DurableConsumer } from '@berth/bus';
import type { Runtime } from '../lifecycle/runtime.js';

/** The agents' exit reports, every namespace. */
export const AGENT_TASK_EXIT_PATTERN = eventPattern('*', 'agent.task.exit');

export type AgentExitOutcome = 'recorded' | 'known' | 'not-ours' | 'no-status';

/**
 * Records one agent's exit report against this service's records. A report
 * for a container this service does not hold on that node (another tasks
 * service's, or removed) is not ours; one already recorded is known. Waits
 * for a start of that container in progress to record its run first.
 */
export async function applyAgentExit(rt: Runtime, node: string, exit: events.TaskExit): Promise<AgentExitOutcome> {
  // The report can overtake the StartTask answer of a process that exits at once.
  await rt.startSettled(exit.containerId);
  const rec = rt.store.get(exit.containerId);
  if (!rec || rec.nodeId !== node) return 'not-ours';
  if (!exit.exitStatus) return 'no-status';
  const fresh = exit.execId === '' ? rt.recordInitExit(exit.containerId, exit.exitStatus) : rt.recordExecExit(exit.containerId, exit.execId, exit.exitStatus);
  return fresh ? 'recorded' : 'known';
}

/** Starts the durable consumer `tasks-<node>-agent-exits`; a failing record is redelivered. */
export function consumeAgentExits(bus: Pick<Bus, 'consume'>, rt: Runtime, serviceNode: string): Promise<DurableConsumer> {
  return bus.consume<events.TaskExit>(
    `tasks-${serviceNode}-agent-exits`,
    AGENT_TASK_EXIT_PATTERN,
    async (envelope) => {
      const outcome = await applyAgentExit(rt, envelope.node, envelope.payload);
      if (outcome === 'recorded') rt.logger.info({ container: envelope.payload.containerId, execId: envelope.payload.execId, node: envelope.node }, 'exit recorded from the agent report');
      if (outcome === 'no-status') rt.logger.warn({ container: envelope.payload.containerId, node: envelope.node }, 'agent exit report without an exit status; ignored');
    },
    { validatePayload: (payload) => eventPayloads['tasks.exit'].fromJSON(payload) },
  );
}
