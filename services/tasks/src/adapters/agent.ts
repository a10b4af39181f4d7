// AgentPort over the agent's Runtime and Netns gRPC services.
import { Metadata } from '@grpc/grpc-js';
import { agent, type types } from '@berth/api';
import { createClient } from '@berth/service-kit';
import { errorMessage, grpcCode, GrpcStatus, internal, isNotFound, TasksError, unavailable } from '../errors.js';
import type { AgentDirectory, AgentPort, AgentTask, AgentTaskStatus, AttachStream, CreateTaskRequest, ExecProcessRequest, StdioOptions } from '../ports.js';
import type { OciLinuxResources, OciProcess, OciSpec } from '@berth/runtime-spec';
import { callUnary, type Peer } from './grpc-call.js';

const STATUS: Partial<Record<agent.TaskStatus, AgentTaskStatus>> = {
  [agent.TaskStatus.CREATED]: 'created',
  [agent.TaskStatus.RUNNING]: 'running',
  [agent.TaskStatus.PAUSED]: 'paused',
  [agent.TaskStatus.STOPPED]: 'stopped',
};

function taskFrom(state: agent.TaskState): AgentTask {
  const s = STATUS[state.status];
  if (!s) throw internal(`the agent reported task ${state.containerId} in an unknown status ${state.status}`);
  return { containerId: state.containerId, status: s, pid: state.pid, exitStatus: state.exitStatus, execIds: state.execIds };
}

const stdio = (s: StdioOptions): agent.StdioConfig => ({
  terminal: s.terminal,
  stdin: s.stdin,
  logPath: s.logPath,
  logMaxBytes: s.logMaxBytes,
  logMaxFiles: s.logMaxFiles,
});

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** Trailing metadata by which the agent says which exit code a failed start means (127 not found, 126 not executable). */
export const EXIT_CODE_TRAILER = 'berth-exit-code';

/**
 * An agent's start failure as a TasksError carrying the exit code of its
 * `berth-exit-code` trailer; any other error unchanged. Pure.
 */
export function withTrailerExitCode(error: unknown): unknown {
  const metadata = (error as { metadata?: unknown } | null)?.metadata;
  if (!(metadata instanceof Metadata)) return error;
  const raw = metadata.get(EXIT_CODE_TRAILER)[0];
  if (raw === undefined) return error;
  const exitCode = Number(raw.toString());
  if (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255) return error;
  return new TasksError(grpcCode(error) ?? GrpcStatus.UNKNOWN, errorMessage(error), { cause: error, exitCode });
}

export class GrpcAgent implements AgentPort {
  private readonly runtime: agent.RuntimeClient;
  private readonly netns: agent.NetnsClient;
  private readonly peer: Peer;

  constructor(
    address: string,
    private readonly timeoutMs: number,
  ) {
    this.runtime = createClient(agent.RuntimeClient, address);
    this.netns = createClient(agent.NetnsClient, address);
    this.peer = { name: 'agent', address };
  }

  private call<Req, Res>(method: Parameters<typeof callUnary<Req, Res>>[1], request: Req, timeoutMs: number | undefined = this.timeoutMs, signal?: AbortSignal) {
    return callUnary(this.peer, method, request, { timeoutMs, signal });
  }

  async createNetns(containerId: string): Promise<string> {
    const res = await this.call(this.netns.createNetns.bind(this.netns), { containerId });
    if (!res.netns?.path) throw internal(`the agent created the network namespace of ${containerId} but did not say where`);
    return res.netns.path;
  }

  async removeNetns(containerId: string): Promise<void> {
    await this.call(this.netns.removeNetns.bind(this.netns), { containerId, ignoreMissing: true });
  }

  async createTask(req: CreateTaskRequest): Promise<{ pid: number }> {
    const res = await this.call(this.runtime.createTask.bind(this.runtime), {
      containerId: req.containerId,
      specJson: json(req.spec),
      rootfsMounts: req.rootfs,
      stdio: stdio(req.stdio),
      user: req.user,
      privileged: req.privileged,
      copyUps: req.copyUps,
    }).catch((err: unknown) => {
      throw withTrailerExitCode(err);
    });
    return { pid: res.pid };
  }

  async startTask(containerId: string, execId: string): Promise<number> {
    const res = await this.call(this.runtime.startTask.bind(this.runtime), { containerId, execId }).catch((err: unknown) => {
      throw withTrailerExitCode(err);
    });
    return res.pid;
  }

  async killTask(containerId: string, execId: string, signal: number, all: boolean): Promise<void> {
    await this.call(this.runtime.killTask.bind(this.runtime), { containerId, execId, signal, all });
  }

  async deleteTask(containerId: string, execId: string, force: boolean): Promise<types.ExitStatus | undefined> {
    try {
      return (await this.call(this.runtime.deleteTask.bind(this.runtime), { containerId, execId, force })).exitStatus;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async getTask(containerId: string): Promise<AgentTask | undefined> {
    try {
      const res = await this.call(this.runtime.getTaskState.bind(this.runtime), { containerId });
      return res.state ? taskFrom(res.state) : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async listTasks(): Promise<AgentTask[]> {
    return (await this.call(this.runtime.listTasks.bind(this.runtime), {})).tasks.map(taskFrom);
  }

  async waitTask(containerId: string, execId: string, signal: AbortSignal): Promise<types.ExitStatus> {
    const res = await this.call(this.runtime.waitTask.bind(this.runtime), { containerId, execId }, undefined, signal);
    if (!res.exitStatus) throw internal(`the agent answered WaitTask for ${containerId} without an exit status`);
    return res.exitStatus;
  }

  async execProcess(req: ExecProcessRequest): Promise<void> {
    await this.call(this.runtime.execProcess.bind(this.runtime), {
      containerId: req.containerId,
      execId: req.execId,
      processJson: json(req.process),
      stdio: stdio(req.stdio),
      user: req.user,
      privileged: req.privileged,
    });
  }

  async pauseTask(containerId: string): Promise<void> {
    await this.call(this.runtime.pauseTask.bind(this.runtime), { containerId });
  }

  async resumeTask(containerId: string): Promise<void> {
    await this.call(this.runtime.resumeTask.bind(this.runtime), { containerId });
  }

  async listPids(containerId: string): Promise<types.ProcessInfo[]> {
    return (await this.call(this.runtime.listPids.bind(this.runtime), { containerId })).processes;
  }

  async stats(containerId: string): Promise<types.TaskStats> {
    const res = await this.call(this.runtime.getTaskStats.bind(this.runtime), { containerId });
    if (!res.stats) throw internal(`the agent answered GetTaskStats for ${containerId} without stats`);
    return res.stats;
  }

  async resizePty(containerId: string, execId: string, size: types.TtySize): Promise<void> {
    await this.call(this.runtime.resizePty.bind(this.runtime), { containerId, execId, size });
  }

  async updateResources(containerId: string, resources: OciLinuxResources): Promise<void> {
    await this.call(this.runtime.updateTask.bind(this.runtime), { containerId, resourcesJson: json(resources) });
  }

  attach(): AttachStream {
    const call = this.runtime.attachTask();
    const connected = new Promise<void>((resolve) => {
      call.once('metadata', () => resolve());
      call.once('status', () => resolve());
      call.once('error', () => resolve());
    });
    return {
      connected,
      send: (frame) => void call.write(frame),
      end: () => call.end(),
      cancel: () => call.cancel(),
      [Symbol.asyncIterator]: () => call[Symbol.asyncIterator]() as AsyncIterator<agent.AttachTaskResponse>,
    };
  }

  close(): void {
    this.runtime.close();
    this.netns.close();
  }
}

/** The agent of each node, by the address its heartbeat (or the configuration) gives. */
export class GrpcAgentDirectory implements AgentDirectory {
  private readonly byAddress = new Map<string, GrpcAgent>();

  constructor(
    private readonly addressOf: (nodeId: string) => string | undefined,
    private readonly timeoutMs: number,
  ) {}

  forNode(nodeId: string): AgentPort {
    const address = this.addressOf(nodeId);
    if (!address) throw unavailable(`no agent is known for node ${nodeId}: it has not registered`);
    let agentClient = this.byAddress.get(address);
    if (!agentClient) {
      agentClient = new GrpcAgent(address, this.timeoutMs);
      this.byAddress.set(address, agentClient);
    }
    return agentClient;
  }

  close(): void {
    for (const a of this.byAddress.values()) a.close();
    this.byAddress.clear();
  }
}
