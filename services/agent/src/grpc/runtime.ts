// berth.agent.v1.Runtime over the agent core (ContainerRuntime). Handlers
// translate messages, call the core, and report exits (agent.task.exit); the core keeps
// all state on disk.
import { NAMESPACE_METADATA_KEY, agent, types, timestampFromDate } from '@berth/api';
import type { OciProcess, OciSpec } from '@berth/runtime-spec';
import { availableParallelism } from 'node:os';
import { ContainerError, isContainerError } from '../errors.js';
import type { ContainerRuntime, CreateOptions, ExecDefinition } from '../runtime/container-runtime.js';
import { withNamespace, type NamespaceBook } from '../events/namespaces.js';
import type { ExecExitWatcher } from '../events/exec-exits.js';
import type { TaskEvents } from '../events/task-events.js';
import { bootTimeMs, hostCpuTimeNs, readProcStat } from '../node/host.js';
import { execIdsByPid, readNetworkCounters, readProcess } from '../node/processes.js';
import { attachTask } from './attach.js';
import { exitStatusMessage, jsonObject, mountSpecs, requestSignal, taskState, taskStats, terminalSize } from './convert.js';
import { cancelSignal, rpc } from './errors.js';
import { ExecAttachWaiters } from './exec-attach-waiters.js';

export interface RuntimeHandlerDeps {
  runtime: ContainerRuntime;
  events: TaskEvents;
  execExits: ExecExitWatcher;
  namespaces: NamespaceBook;
  /** Node defaults for log rotation when a request leaves them 0. */
  logMaxSize: number;
  logMaxFiles: number;
}

function requireId(id: string, field = 'container_id'): string {
  if (id === '') throw new ContainerError('INVALID_ARGUMENT', `${field} is required`);
  return id;
}

function stdioOptions(stdio: agent.StdioConfig | undefined, deps: RuntimeHandlerDeps): Pick<CreateOptions, 'tty' | 'stdin' | 'logPath' | 'logMaxSize' | 'logMaxFiles'> {
  const logMaxSize = stdio && stdio.logMaxBytes > 0 ? stdio.logMaxBytes : deps.logMaxSize;
  const logMaxFiles = stdio && stdio.logMaxFiles > 0 ? stdio.logMaxFiles : deps.logMaxFiles;
  return {
    ...(stdio ? { tty: stdio.terminal, stdin: stdio.stdin } : {}),
    // Without a log path the log stays in the container's state dir, removed with it.
    ...(stdio && stdio.logPath !== '' ? { logPath: stdio.logPath } : {}),
    logMaxSize,
    logMaxFiles,
  };
}

export function runtimeHandlers(deps: RuntimeHandlerDeps): agent.RuntimeServer {
  const { runtime, events: taskEvents } = deps;
  const waiters = new ExecAttachWaiters();

  const stateWithExecs = async (id: string): Promise<agent.TaskState> => {
    const [state, execs] = await Promise.all([runtime.state(id), runtime.listExecs(id)]);
    return taskState(state, execs.map((e) => e.execId));
  };

  return {
    createTask: rpc(async (req: agent.CreateTaskRequest, call) => {
      const id = requireId(req.containerId);
      const fallback = String(call.metadata.get(NAMESPACE_METADATA_KEY)[0] ?? deps.namespaces.defaultNamespace);
      const { spec, namespace } = withNamespace(jsonObject(req.specJson, 'spec_json') as unknown as OciSpec, fallback);
      // The annotation in config.json says it too, for anyone who asks before this remembers it.
      const options: CreateOptions = {
        spec,
        rootfsMounts: mountSpecs(req.rootfsMounts),
        copyUps: req.copyUps.map((c) => ({ path: c.path, target: c.target })),
        ...(req.user !== undefined ? { user: req.user } : {}),
        privileged: req.privileged,
        ...stdioOptions(req.stdio, deps),
      };
      const state = await runtime.create(id, options).catch((err: unknown) => {
        // A command that cannot run leaves a stopped container behind (exit 126/127).
        if (isContainerError(err, 'COMMAND_NOT_FOUND') || isContainerError(err, 'COMMAND_NOT_EXECUTABLE')) deps.namespaces.remember(id, namespace);
        throw err;
      });
      deps.namespaces.remember(id, namespace);
      return agent.CreateTaskResponse.fromPartial({ pid: state.pid ?? 0, bundlePath: state.bundle });
    }),

    startTask: rpc(async (req: agent.StartTaskRequest) => {
      const id = requireId(req.containerId);
      let pid: number;
      if (req.execId === '') {
        // A process that ends at once has no pid in its state any more; conmon recorded it.
        pid = (await runtime.start(id)).pid ?? (await runtime.initPid(id)) ?? 0;
      } else {
        const waiting = waiters.take(id, req.execId);
        let session;
        try {
          session = await runtime.startExec(id, req.execId, { attach: waiting.length > 0 });
        } catch (err) {
          for (const w of waiting) w.reject(err);
          throw err;
        }
        const [firstWaiter, ...others] = waiting;
        if (firstWaiter && session.attach) firstWaiter.resolve(session.attach);
        for (const w of others) runtime.attachExec(id, req.execId, { stdin: w.stdin }).then(w.resolve, w.reject);
        pid = session.pid;
        deps.execExits.watch(id, req.execId, pid);
      }
      return agent.StartTaskResponse.fromPartial({ pid });
    }),

    killTask: rpc(async (req: agent.KillTaskRequest) => {
      const id = requireId(req.containerId);
      const signal = requestSignal(req.signal);
      if (req.execId === '') await runtime.kill(id, signal, { all: req.all });
      else await runtime.killExec(id, req.execId, signal);
      return agent.KillTaskResponse.fromPartial({});
    }),

    deleteTask: rpc(async (req: agent.DeleteTaskRequest) => {
      const id = requireId(req.containerId);
      if (req.execId !== '') {
        const { pid } = await runtime.execState(id, req.execId);
        const exit = await runtime.deleteExec(id, req.execId, { force: req.force });
        const exitStatus = exit ? exitStatusMessage(exit) : undefined;
        if (exit) taskEvents.exited(id, exit, { execId: req.execId, ...(pid !== undefined ? { pid } : {}) });
        return agent.DeleteTaskResponse.fromPartial(exitStatus ? { exitStatus } : {});
      }
      const bundle = (await runtime.state(id)).bundle;
      // Settle the namespace and pid while the bundle and pid file still exist.
      await deps.namespaces.of(id, bundle);
      const pid = await runtime.initPid(id);
      const exit = await runtime.delete(id, { force: req.force });
      const exitStatus = exit ? exitStatusMessage(exit) : undefined;
      // The exit watcher may not have seen this exit before the delete removed it.
      if (exit) taskEvents.exited(id, exit, pid !== undefined ? { pid } : {});
      taskEvents.forget(id);
      return agent.DeleteTaskResponse.fromPartial(exitStatus ? { exitStatus } : {});
    }),

    getTaskState: rpc(async (req: agent.GetTaskStateRequest) => {
      return agent.GetTaskStateResponse.fromPartial({ state: await stateWithExecs(requireId(req.containerId)) });
    }),

    listTasks: rpc(async () => {
      const states = await runtime.list();
      const tasks = await Promise.all(
        states.map(async (s) => taskState(s, (await runtime.listExecs(s.id).catch(() => [])).map((e) => e.execId))),
      );
      return agent.ListTasksResponse.fromPartial({ tasks });
    }),

    waitTask: rpc(async (req: agent.WaitTaskRequest, call) => {
      const id = requireId(req.containerId);
      const signal = cancelSignal(call);
      const exit = req.execId === '' ? await runtime.wait(id, { signal }) : await runtime.waitExec(id, req.execId, signal);
      return agent.WaitTaskResponse.fromPartial({ exitStatus: exitStatusMessage(exit) });
    }),

    execProcess: rpc(async (req: agent.ExecProcessRequest) => {
      const id = requireId(req.containerId);
      const execId = requireId(req.execId, 'exec_id');
      const process = jsonObject(req.processJson, 'process_json') as unknown as OciProcess;
      const def: ExecDefinition = {
        args: Array.isArray(process.args) ? process.args : [],
        process,
        ...(req.user !== undefined ? { user: req.user } : {}),
        privileged: req.privileged,
        tty: req.stdio ? req.stdio.terminal : process.terminal === true,
        stdin: req.stdio?.stdin === true,
      };
      await runtime.createExec(id, execId, def);
      return agent.ExecProcessResponse.fromPartial({});
    }),

    pauseTask: rpc(async (req: agent.PauseTaskRequest) => {
      const id = requireId(req.containerId);
      await runtime.pause(id);
      return agent.PauseTaskResponse.fromPartial({});
    }),

    resumeTask: rpc(async (req: agent.ResumeTaskRequest) => {
      const id = requireId(req.containerId);
      await runtime.resume(id);
      return agent.ResumeTaskResponse.fromPartial({});
    }),

    listPids: rpc(async (req: agent.ListPidsRequest) => {
      const id = requireId(req.containerId);
      const [pids, execs, procStat] = await Promise.all([runtime.pids(id), runtime.listExecs(id), readProcStat()]);
      const boot = bootTimeMs(procStat);
      const facts = (await Promise.all(pids.map((pid) => readProcess(pid, boot)))).filter((p) => p !== undefined);
      const execPids = new Map(execs.filter((e) => e.pid !== undefined).map((e) => [e.pid as number, e.execId]));
      const execOf = execIdsByPid(facts, execPids);
      const processes = facts
        .sort((a, b) => a.pid - b.pid)
        .map((p) =>
          types.ProcessInfo.fromPartial({
            pid: p.pid,
            ppid: p.ppid,
            uid: p.uid,
            args: p.args,
            execId: execOf.get(p.pid) ?? '',
            startedAt: timestampFromDate(new Date(p.startedAtMs)),
            cpuTimeNs: Math.round(p.cpuTimeNs),
            rssBytes: p.rssBytes,
          }),
        );
      return agent.ListPidsResponse.fromPartial({ processes });
    }),

    getTaskStats: rpc(async (req: agent.GetTaskStatsRequest) => {
      const id = requireId(req.containerId);
      const [stats, state, procStat] = await Promise.all([runtime.stats(id), runtime.state(id), readProcStat()]);
      const networks = state.pid !== undefined ? await readNetworkCounters(state.pid) : [];
      const sample = taskStats(
        id,
        stats,
        { onlineCpus: availableParallelism(), systemUsageNs: hostCpuTimeNs(procStat) },
        networks.map((n) => types.NetworkInterfaceStats.fromPartial(n)),
        new Date(),
      );
      return agent.GetTaskStatsResponse.fromPartial({ stats: sample });
    }),

    resizePty: rpc(async (req: agent.ResizePtyRequest) => {
      const id = requireId(req.containerId);
      const size = terminalSize(req.size);
      if (req.execId === '') await runtime.resize(id, size);
      else await runtime.resizeExec(id, req.execId, size);
      return agent.ResizePtyResponse.fromPartial({});
    }),

    attachTask: attachTask({ runtime, waiters }),

    updateTask: rpc(async (req: agent.UpdateTaskRequest) => {
      const id = requireId(req.containerId);
      await runtime.update(id, jsonObject(req.resourcesJson, 'resources_json'));
      return agent.UpdateTaskResponse.fromPartial({});
    }),
  };
}
