// Container lifecycle commands over the tasks service: start, stop, restart,
// kill, rm, pause, unpause, wait, rename, top, inspect, container prune.
import * as tasks from '@berth/api/tasks';
import { Code, hasCode } from '../client/errors.js';
import { withSession, type Session } from '../client/session.js';
import { containerState } from '../format/containers.js';
import { jsonView } from '../format/json-view.js';
import { cpuTime, humanSize } from '../format/units.js';
import { BerthError, renderInspect, renderTable, type Format } from '../output.js';
import type { GlobalOptions } from '../stack-options.js';
import { confirm } from '../stdio/confirm.js';
import { removeContainer, startAttached } from './run.js';

/** NOT_FOUND as Docker words it: "No such container: <ref>". */
export function noSuchContainer(err: unknown, ref: string): unknown {
  return hasCode(err, Code.NOT_FOUND) ? new BerthError(`No such container: ${ref}`, 125, { cause: err }) : err;
}

export async function getContainer(s: Session, ref: string): Promise<tasks.Container> {
  try {
    const c = (await s.unary(s.api(tasks.ContainersClient), 'getContainer', { id: ref })).container;
    if (!c) throw new BerthError(`No such container: ${ref}`);
    return c;
  } catch (err) {
    throw noSuchContainer(err, ref);
  }
}

/** How many containers stop, kill, rm, pause and unpause work on at once (Docker's CLI runs these in parallel too). */
const PARALLEL = 16;

/**
 * Runs fn for each container (in turn, or with `parallel` up to PARALLEL at
 * once), printing the references as given in their order, each once it
 * succeeded (as docker does); failures go to stderr and make the exit code 125.
 */
async function eachContainer(g: GlobalOptions, refs: string[], fn: (ref: string) => Promise<string | void>, o: { parallel?: boolean } = {}): Promise<number> {
  const outcomes = withLimit(refs, o.parallel ? PARALLEL : 1, fn);
  let failed = false;
  let stackDown = false;
  for (const [i, ref] of refs.entries()) {
    try {
      const shown = await outcomes[i];
      g.io.stdout.write(`${shown ?? ref}\n`);
    } catch (err) {
      failed = true;
      if (stackDown) continue; // no point repeating it per container
      const e = noSuchContainer(err, ref) as Error;
      g.io.stderr.write(`berth: ${e.message}\n`);
      stackDown = e.message.includes('berth system up');
    }
  }
  return failed ? 125 : 0;
}

/** Starts fn on every item, at most `limit` at a time, in their order; the outcomes, in the same order. */
function withLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R>[] {
  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async () => {
    while (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
  };
  const release = () => {
    running--;
    waiting.shift()?.();
  };
  const promises = items.map(async (item) => {
    await slot();
    try {
      return await fn(item);
    } finally {
      release();
    }
  });
  for (const p of promises) p.catch(() => undefined); // read in order by the caller; none is unhandled meanwhile
  return promises;
}

export async function start(g: GlobalOptions, refs: string[], o: { attach?: boolean; interactive?: boolean }): Promise<number> {
  return withSession(g, async (s) => {
    if (o.attach || o.interactive) {
      if (refs.length !== 1) throw new BerthError('you cannot start and attach multiple containers at once');
      try {
        return await startAttached(s, refs[0]!, o.interactive === true);
      } catch (err) {
        throw noSuchContainer(err, refs[0]!);
      }
    }
    return eachContainer(g, refs, async (id) => {
      await s.unary(s.api(tasks.TasksClient), 'startTask', { containerId: id, execId: '' });
    });
  });
}

export async function stop(g: GlobalOptions, refs: string[], o: { time?: number; signal?: string }): Promise<number> {
  return withSession(g, (s) =>
    eachContainer(g, refs, async (id) => {
      await s.unary(s.api(tasks.TasksClient), 'stopTask', {
        containerId: id,
        signal: o.signal ?? '',
        ...(o.time !== undefined ? { timeoutSeconds: o.time } : {}),
      });
    }, { parallel: true }),
  );
}

export async function restart(g: GlobalOptions, refs: string[], o: { time?: number; signal?: string }): Promise<number> {
  return withSession(g, (s) =>
    eachContainer(g, refs, async (id) => {
      await s.unary(s.api(tasks.TasksClient), 'stopTask', {
        containerId: id,
        signal: o.signal ?? '',
        ...(o.time !== undefined ? { timeoutSeconds: o.time } : {}),
      });
      await s.unary(s.api(tasks.TasksClient), 'startTask', { containerId: id, execId: '' });
    }),
  );
}

export async function kill(g: GlobalOptions, refs: string[], o: { signal: string }): Promise<number> {
  return withSession(g, (s) =>
    eachContainer(g, refs, async (id) => {
      await s.unary(s.api(tasks.TasksClient), 'killTask', { containerId: id, execId: '', signal: o.signal, all: false });
    }, { parallel: true }),
  );
}

export async function remove(g: GlobalOptions, refs: string[], o: { force?: boolean }): Promise<number> {
  return withSession(g, (s) =>
    eachContainer(g, refs, async (id) => {
      try {
        await s.unary(s.api(tasks.ContainersClient), 'deleteContainer', { id, force: o.force === true, keepLogs: false });
      } catch (err) {
        if (hasCode(err, Code.FAILED_PRECONDITION) && !o.force) {
          throw new BerthError(`cannot remove container ${id}: ${err.message} (stop it first or use --force)`, 125, { cause: err });
        }
        throw err;
      }
    }, { parallel: true }),
  );
}

export async function pause(g: GlobalOptions, refs: string[]): Promise<number> {
  return withSession(g, (s) => eachContainer(g, refs, async (id) => void (await s.unary(s.api(tasks.TasksClient), 'pauseTask', { containerId: id })), { parallel: true }));
}

export async function unpause(g: GlobalOptions, refs: string[]): Promise<number> {
  return withSession(g, (s) => eachContainer(g, refs, async (id) => void (await s.unary(s.api(tasks.TasksClient), 'resumeTask', { containerId: id })), { parallel: true }));
}

/** Prints each container's exit code once it exits. */
export async function wait(g: GlobalOptions, refs: string[]): Promise<number> {
  return withSession(g, (s) =>
    eachContainer(g, refs, async (id) => {
      const r = await s.unary(s.api(tasks.TasksClient), 'waitTask', { containerId: id, execId: '' });
      return String(r.exitStatus?.exitCode ?? 0);
    }),
  );
}

export async function rename(g: GlobalOptions, ref: string, name: string): Promise<number> {
  return withSession(g, async (s) => {
    try {
      await s.unary(s.api(tasks.ContainersClient), 'renameContainer', { id: ref, name });
    } catch (err) {
      if (hasCode(err, Code.ALREADY_EXISTS)) {
        throw new BerthError(`the container name "${name}" is already in use (${err.message})`, 125, { cause: err });
      }
      throw noSuchContainer(err, ref);
    }
    return 0;
  });
}

/** Container records as `inspect` prints them (runtime spec as JSON). */
export async function inspectObjects(s: Session, refs: string[]): Promise<{ objects: unknown[]; failed: string[] }> {
  const objects: unknown[] = [];
  const failed: string[] = [];
  for (const ref of refs) {
    try {
      objects.push(jsonView(tasks.Container, await getContainer(s, ref)));
    } catch (err) {
      if (!(err instanceof BerthError) || !err.message.startsWith('No such container')) throw err;
      failed.push(ref);
    }
  }
  return { objects, failed };
}

export async function inspect(g: GlobalOptions, refs: string[], format: Format): Promise<number> {
  return withSession(g, async (s) => {
    const { objects, failed } = await inspectObjects(s, refs);
    g.io.stdout.write(renderInspect(objects, format));
    for (const ref of failed) g.io.stderr.write(`berth: No such container: ${ref}\n`);
    return failed.length > 0 ? 125 : 0;
  });
}

export async function top(g: GlobalOptions, ref: string, format: Format): Promise<number> {
  return withSession(g, async (s) => {
    let processes;
    try {
      processes = (await s.unary(s.api(tasks.TasksClient), 'listProcesses', { containerId: ref })).processes;
    } catch (err) {
      throw noSuchContainer(err, ref);
    }
    if (format !== 'table') {
      g.io.stdout.write(renderInspect(processes.map((p) => ({ ...p, startedAt: undefined })), format));
      return 0;
    }
    g.io.stdout.write(
      renderTable(
        ['UID', 'PID', 'PPID', 'TIME', 'RSS', 'CMD'],
        processes.map((p) => [String(p.uid), String(p.pid), String(p.ppid), cpuTime(p.cpuTimeNs), humanSize(p.rssBytes), p.args.join(' ')]),
      ),
    );
    return 0;
  });
}

/** `container prune`: removes every container that is not running. */
export async function prune(g: GlobalOptions, o: { force?: boolean; filter: string[] }): Promise<number> {
  if (!o.force && !(await confirm(g.io, 'WARNING! This will remove all stopped containers.'))) return 0;
  return withSession(g, async (s) => {
    const all = (await s.unary(s.api(tasks.ContainersClient), 'listContainers', { filters: o.filter })).containers;
    const stopped = all.filter((c) => ['created', 'exited'].includes(containerState(c)));
    if (stopped.length > 0) g.io.stdout.write('Deleted Containers:\n');
    for (const c of stopped) {
      await removeContainer(s, c.id);
      g.io.stdout.write(`${c.id}\n`);
    }
    g.io.stdout.write(`\nTotal reclaimed containers: ${stopped.length}\n`);
    return 0;
  });
}
