// Where the agent keeps things. Everything a restart needs is a file here:
//
//   <root>/runc/                      runc --root (private to this agent)
//   <root>/exits/<id>                 conmon --exit-dir: exit code, written by
//                                     conmon even when the agent is dead; one
//                                     directory so one watcher sees every exit
//   <root>/attach/<cuuid> -> bundle   conmon --socket-dir-path symlinks
//   <root>/removed/                   state dirs of deleted containers, moved
//                                     here and deleted in the background
//   <root>/containers/<id>/
//       record.json                   how the container was created (immutable)
//       exit.json                     sealed exit status (fsynced by the agent)
//       conmon.pid  pid               conmon and container init pids
//       persist/exit persist/oom      conmon --persist-dir copies
//       bundle/                       the OCI bundle, unless the caller gave one
//       container.log[.N]             k8s-file log, unless the caller gave a path
//       execs/<exec-id>/              one exec session (same layout, own conmon)
//       exec-requests/<exec-id>.json  an exec process created but not started yet
import { join } from 'node:path';
import { ContainerError } from '../errors.js';

export interface RuntimeLayout {
  root: string;
  containersDir: string;
  runcRoot: string;
  exitsDir: string;
  attachDir: string;
  removedDir: string;
}

export function runtimeLayout(root: string, runcRoot?: string): RuntimeLayout {
  return {
    root,
    containersDir: join(root, 'containers'),
    runcRoot: runcRoot ?? join(root, 'runc'),
    exitsDir: join(root, 'exits'),
    attachDir: join(root, 'attach'),
    removedDir: join(root, 'removed'),
  };
}

export interface ContainerPaths {
  dir: string;
  record: string;
  sealedExit: string;
  conmonPid: string;
  containerPid: string;
  persistDir: string;
  persistExit: string;
  persistOom: string;
  /** conmon's exit file in the shared exit dir. */
  exitFile: string;
  attachLink: string;
  defaultBundle: string;
  defaultLog: string;
  execsDir: string;
  execRequestsDir: string;
}

export function containerPaths(layout: RuntimeLayout, id: string): ContainerPaths {
  const dir = join(layout.containersDir, id);
  return {
    dir,
    record: join(dir, 'record.json'),
    sealedExit: join(dir, 'exit.json'),
    conmonPid: join(dir, 'conmon.pid'),
    containerPid: join(dir, 'pid'),
    persistDir: join(dir, 'persist'),
    persistExit: join(dir, 'persist', 'exit'),
    persistOom: join(dir, 'persist', 'oom'),
    exitFile: join(layout.exitsDir, id),
    attachLink: join(layout.attachDir, id),
    defaultBundle: join(dir, 'bundle'),
    defaultLog: join(dir, 'container.log'),
    execsDir: join(dir, 'execs'),
    execRequestsDir: join(dir, 'exec-requests'),
  };
}

export interface ExecPaths {
  dir: string;
  processSpec: string;
  conmonPid: string;
  pid: string;
  exitDir: string;
  /** conmon names the exit file after the container id (its --cid). */
  exitFile: string;
  log: string;
  /** conmon's --cuuid for the session; also its attach symlink name. */
  cuuid: string;
  attachLink: string;
}

export function execPaths(layout: RuntimeLayout, containerId: string, execId: string): ExecPaths {
  const dir = join(containerPaths(layout, containerId).execsDir, execId);
  const cuuid = `${containerId}.exec.${execId}`;
  return {
    dir,
    processSpec: join(dir, 'process.json'),
    conmonPid: join(dir, 'conmon.pid'),
    pid: join(dir, 'pid'),
    exitDir: join(dir, 'exit'),
    exitFile: join(dir, 'exit', containerId),
    log: join(dir, 'exec.log'),
    cuuid,
    attachLink: join(layout.attachDir, cuuid),
  };
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Whether `id` can be a container or exec id. Pure. */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id) && !id.includes('..');
}

/** Container and exec ids become file names and runc ids: keep them boring. */
export function validateId(id: string, what = 'container id'): void {
  if (!isValidId(id)) {
    throw new ContainerError(
      'INVALID_ARGUMENT',
      `invalid ${what} ${JSON.stringify(id)}: use 1-128 characters [A-Za-z0-9_.-], starting with a letter or digit`,
    );
  }
}
