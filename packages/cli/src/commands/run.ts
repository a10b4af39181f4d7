// `run` and `create`: pull when needed (per --pull), create the container,
// and for a foreground run attach, start, relay stdio and exit with the
// container's exit code.
import { ErrorReason } from '@berth/api/metadata';
import * as tasks from '@berth/api/tasks';
import { Code, hasCode } from '../client/errors.js';
import { withSession, type Session } from '../client/session.js';
import { startFailureCode } from '../exit-codes.js';
import { BerthError } from '../output.js';
import { checkPullPolicy, inputsOf, type PullPolicy } from '../run-flags.js';
import { buildCreateRequest, type RunFlags } from '../run-spec.js';
import type { GlobalOptions } from '../stack-options.js';
import { attachThenStart, relay, terminalSize, type RunCall } from '../stdio/attach.js';

/**
 * Pulling and platforms (the images API, progress bars, registry auth): loaded
 * only by a run that needs them, not by every run of a present image.
 */
const imageOps = () => import('./image-ops.js');

/** --platform as the API's Platform; undefined when not given. */
async function platformOf(f: RunCommandFlags) {
  return f.platform === undefined ? undefined : (await imageOps()).apiPlatform(f.platform);
}

export interface RunCommandFlags extends RunFlags {
  quiet?: boolean;
  sigProxy?: boolean;
  plainHttp?: boolean;
}

/**
 * Creates the container, pulling its image per --pull. As `docker run` does,
 * the tasks service is asked first and the image pulled only when it has
 * none (one call instead of two on every run); --pull always and --platform
 * settle the image with the images service first and pin its digest.
 */
async function createContainer(s: Session, image: string, command: string[], f: RunCommandFlags): Promise<tasks.Container> {
  return withImage(s, image, command, f, (request) => createFromImage(s, request, f), isImageNotFound);
}

/**
 * Builds the create request and makes `attempt` with it. The image is pulled
 * only when `missing` says the attempt found none (unless --pull always or
 * --platform settle it first); the attempt is then made once more, pinned
 * to what was pulled.
 */
async function withImage<T>(
  s: Session,
  image: string,
  command: string[],
  f: RunCommandFlags,
  attempt: (request: tasks.CreateContainerRequest) => Promise<T>,
  missing: (err: unknown) => boolean,
): Promise<T> {
  const policy = checkPullPolicy(f.pull);
  const request = buildCreateRequest(image, command, f, inputsOf(s.io));
  request.spec!.platform = await platformOf(f);
  if (policy !== 'always' && f.platform === undefined) {
    try {
      return await attempt(request);
    } catch (err) {
      if (!missing(err)) throw err;
      // missing: ensureImage says so and pulls it (or refuses, with --pull never)
    }
  }
  await pinImage(s, image, policy, request, f);
  return attempt(request);
}

/** Pulls the image as the policy says (or refuses, with --pull never) and pins the request to it. */
async function pinImage(s: Session, image: string, policy: PullPolicy, request: tasks.CreateContainerRequest, f: RunCommandFlags): Promise<void> {
  const pulled = await (await imageOps()).ensureImage(s, image, policy, {
    platform: f.platform,
    quiet: f.quiet === true,
    out: s.io.stderr,
    plainHttp: f.plainHttp === true,
  });
  request.spec!.imageTarget = pulled.target;
}

/** A create's ALREADY_EXISTS for a --name: "name in use", as Docker says it. */
function nameInUse(err: unknown, f: RunCommandFlags): unknown {
  if (!(hasCode(err, Code.ALREADY_EXISTS) && f.name)) return err;
  return new BerthError(`the container name "${f.name}" is already in use (${err.message}); remove that container or choose another --name`, 125, {
    cause: err,
  });
}

const isImageNotFound = (err: unknown) => hasCode(err, Code.NOT_FOUND) && err.reason === ErrorReason.IMAGE_NOT_FOUND;

/** CreateContainer; ALREADY_EXISTS becomes "name in use". */
async function createFromImage(s: Session, request: tasks.CreateContainerRequest, f: RunCommandFlags): Promise<tasks.Container> {
  try {
    const created = (await s.unary(s.api(tasks.ContainersClient), 'createContainer', request)).container;
    if (!created) throw new BerthError('the tasks service answered CreateContainer without a container');
    return created;
  } catch (err) {
    throw nameInUse(err, f);
  }
}

/** Removes a container, also when the tasks service is already removing it (auto-remove). */
export async function removeContainer(s: Session, id: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await s.unary(s.api(tasks.ContainersClient), 'deleteContainer', { id, force: true, keepLogs: false });
      return;
    } catch (err) {
      if (hasCode(err, Code.NOT_FOUND)) return;
      // being removed by its auto-remove already: wait for that to finish
      if (!hasCode(err, Code.FAILED_PRECONDITION)) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new BerthError(`container ${id} is still being removed; check with \`berth ps -a\``);
}

/**
 * A start that failed: Docker's exit code for it (127 command not found,
 * 126 cannot invoke, 125 otherwise) from the status the tasks service
 * recorded; the container goes too with --rm.
 */
async function startFailed(s: Session, id: string, err: unknown, rm: boolean): Promise<never> {
  const message = err instanceof Error ? err.message : String(err);
  let recorded: number | undefined;
  try {
    recorded = (await s.unary(s.api(tasks.ContainersClient), 'getContainer', { id })).container?.status?.exitStatus?.exitCode;
  } catch {
    // the message alone decides
  }
  if (rm) await removeContainer(s, id).catch(() => undefined);
  throw new BerthError(message, startFailureCode(message, recorded), { cause: err });
}

export async function create(g: GlobalOptions, image: string, command: string[], f: RunCommandFlags): Promise<number> {
  return withSession(g, async (s) => {
    const c = await createContainer(s, image, command, f);
    g.io.stdout.write(`${c.id}\n`);
    return 0;
  });
}

/**
 * `run`: one RunContainer call does create, attach, start, relay and (--rm)
 * removal. As for `create`, the image is pulled only when the tasks service
 * has none, unless --pull always or --platform settle it first.
 */
export async function run(g: GlobalOptions, image: string, command: string[], f: RunCommandFlags): Promise<number> {
  return withSession(g, async (s) => {
    try {
      return await withImage(s, image, command, f, (request) => runContainer(s, request, f), (err) => err instanceof NotCreated && isImageNotFound(err.cause));
    } catch (err) {
      throw err instanceof NotCreated ? nameInUse(err.cause, f) : err;
    }
  });
}

/** A RunContainer call that failed before the container existed: cause says why. */
class NotCreated extends Error {}

/**
 * One RunContainer call: the exit code of the container (foreground), or 0
 * once a detached one started (its id printed). A start that fails exits as
 * Docker's does (125, 126, 127); the service has removed the container then
 * with --rm.
 */
function runContainer(s: Session, request: tasks.CreateContainerRequest, f: RunCommandFlags): Promise<number> {
  const tasksApi = s.api(tasks.TasksClient);
  const detach = f.detach === true;
  const rm = f.rm === true;
  // The id comes with the created frame; signals wait for the started one.
  const o = { containerId: '', stdin: f.interactive === true, tty: f.tty === true, sigProxy: f.sigProxy !== false, started: false };
  const call: RunCall = tasksApi.runContainer(s.metadata());
  const start = { create: request, detach, stdin: o.stdin, ttySize: o.tty ? terminalSize(s.io) : undefined, remove: rm };
  call.write({ frame: { $case: 'start', value: start } });
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const failed = (err: unknown) => {
      if (settled) return;
      settled = true;
      if (!o.containerId) return reject(new NotCreated((err as Error).message, { cause: err }));
      if (o.started) return reject(err);
      startFailed(s, o.containerId, err, rm).catch(reject);
    };
    call.on('data', (msg: tasks.RunContainerResponse) => {
      const frame = msg.frame;
      if (frame?.$case === 'created') o.containerId = frame.value.id;
      // (in the foreground the relay marks the start, and passes on the signals held until then)
      else if (frame?.$case === 'startedPid' && detach) {
        o.started = true;
        settled = true;
        s.io.stdout.write(`${o.containerId}\n`);
        resolve(0);
      }
    });
    if (detach) {
      call.on('error', (err: Error) => failed(s.translate(tasksApi, 'RunContainer', err)));
      call.on('status', (st: { code: number }) => {
        if (st.code === 0) failed(new BerthError(`the tasks service ended RunContainer before it started container ${o.containerId || '(none created)'}`));
      });
    }
    // Listening from the start: the output frames may follow the created one in the same read.
    else relay(s, call, o, true).then((exit) => resolve(exit.exitCode), failed);
  });
}

/** `start -a`: attach to a created container and relay its stdio, like a foreground run. */
export async function startAttached(s: Session, ref: string, interactive: boolean): Promise<number> {
  const c = (await s.unary(s.api(tasks.ContainersClient), 'getContainer', { id: ref })).container;
  if (!c) throw new BerthError(`No such container: ${ref}`);
  try {
    await s.unary(s.api(tasks.TasksClient), 'createTask', { containerId: c.id });
  } catch (err) {
    if (!hasCode(err, Code.ALREADY_EXISTS)) return startFailed(s, c.id, err, false);
  }
  try {
    const exit = await attachThenStart(
      s,
      { containerId: c.id, stdin: interactive && c.spec?.openStdin === true, tty: c.spec?.tty === true, sigProxy: true },
      async () => {
        await s.unary(s.api(tasks.TasksClient), 'startTask', { containerId: c.id, execId: '' });
      },
    );
    return exit.exitCode;
  } catch (err) {
    return startFailed(s, c.id, err, false);
  }
}
