// A container's runc status read from runc's own files, as `runc state`
// computes it, without forking runc. The agent asks for a container's state
// several times per operation; each `runc state` is a fork and exec of a Go
// binary (≈ 50 ms on a busy 2-core node), which made state checks the
// largest single cost of `run`.
//
// runc (libcontainer, 1.0 and later) keeps <root>/<id>/state.json, replaced
// atomically, and derives the status from the init process:
//   - no such process, another process with that pid (start time differs),
//     a zombie or a dead one: stopped (pid reported as 0);
//   - <root>/<id>/exec.fifo exists (init waits on it until `runc start`): created;
//   - the freezer says frozen: paused;
//   - otherwise: running.
// A state file this reader does not understand makes it answer undefined,
// and the caller falls back to `runc state`.
//
// Every read is synchronous: a few small files (state.json, procfs, cgroupfs)
// read several times per operation, where a trip through libuv's busy
// threadpool per open/stat/read/close made one state check cost 3-12 ms.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuncState, RuncStatus } from './runc.js';

export type StateFileReading =
  | { kind: 'state'; state: RuncState }
  /** runc does not know the container (no state.json). */
  | { kind: 'absent' }
  /** Present but not in a shape this reader knows: ask runc. */
  | { kind: 'unknown'; why: string };

export interface StateFile {
  id: string;
  pid: number;
  start: number;
  created: string;
  bundle: string;
  freezerV1: string | undefined;
  unified: string | undefined;
}

/** The text of runc's <root>/<id>/state.json; undefined when runc does not know the container. */
function readStateText(root: string, id: string): string | undefined {
  try {
    return readFileSync(join(root, id, 'state.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** <root>/<id>/state.json: its text, what it says and the status that implies. */
export type StateRead = { kind: 'absent' } | { kind: 'unknown'; why: string } | { kind: 'read'; text: string; file: StateFile; status: RuncStatus };

/** Reads <root>/<id>/state.json and computes the status. */
export function readState(root: string, id: string): StateRead {
  const text = readStateText(root, id);
  if (text === undefined) return { kind: 'absent' };
  const file = parseStateFile(text);
  if (typeof file === 'string') return { kind: 'unknown', why: file };
  return { kind: 'read', text, file, status: runcStatusOf(join(root, id), file) };
}

/** The container's runc state from its state file. */
export async function readRuncStateFile(root: string, id: string): Promise<StateFileReading> {
  const read = readState(root, id);
  if (read.kind !== 'read') return read;
  const { file, status } = read;
  return {
    kind: 'state',
    state: { id: file.id, pid: status === 'stopped' ? 0 : file.pid, status, bundle: file.bundle, created: file.created },
  };
}

/** state.json as an object; a string says why it is not one. */
export function parseStateObject(text: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'state.json is not JSON';
  }
  if (typeof v !== 'object' || v === null) return 'state.json is not an object';
  return v as Record<string, unknown>;
}

/** The fields of state.json the status needs; a string says why it cannot be read. */
function parseStateFile(text: string): StateFile | string {
  const o = parseStateObject(text);
  if (typeof o === 'string') return o;
  const pid = o['init_process_pid'];
  const start = o['init_process_start'];
  if (typeof o['id'] !== 'string' || typeof pid !== 'number' || typeof start !== 'number') {
    return 'state.json lacks id, init_process_pid or init_process_start';
  }
  const config = (typeof o['config'] === 'object' && o['config'] !== null ? o['config'] : {}) as Record<string, unknown>;
  const labels = Array.isArray(config['labels']) ? config['labels'].filter((l): l is string => typeof l === 'string') : [];
  const bundle = labels.find((l) => l.startsWith('bundle='))?.slice('bundle='.length) ?? '';
  const paths = (typeof o['cgroup_paths'] === 'object' && o['cgroup_paths'] !== null ? o['cgroup_paths'] : {}) as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === 'string' && x !== '' ? x : undefined);
  return {
    id: o['id'],
    pid,
    start,
    created: typeof o['created'] === 'string' ? o['created'] : '',
    bundle,
    freezerV1: str(paths['freezer']),
    unified: str(paths['']),
  };
}

/** Start time (clock ticks since boot) and state letter of a process, from /proc/<pid>/stat. */
export function parseProcStat(text: string): { state: string; startTime: number } | undefined {
  // comm, in parentheses, may itself hold spaces and parentheses: fields follow the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const startTime = Number(rest[19]);
  if (!state || !Number.isFinite(startTime)) return undefined;
  return { state, startTime };
}

/** The status runc would report for the container whose state dir is `dir`. */
function runcStatusOf(dir: string, file: StateFile): RuncStatus {
  let stat_: string;
  try {
    stat_ = readFileSync(`/proc/${file.pid}/stat`, 'utf8');
  } catch {
    return 'stopped';
  }
  const proc = parseProcStat(stat_);
  if (!proc || proc.startTime !== file.start || proc.state === 'Z' || proc.state === 'X' || proc.state === 'x') return 'stopped';
  if (existsSync(join(dir, 'exec.fifo'))) return 'created';
  return isFrozen(file) ? 'paused' : 'running';
}

function isFrozen(file: StateFile): boolean {
  // Like runc: the v1 freezer when the container has one (hybrid hosts too), else cgroup v2's.
  if (file.freezerV1) return readTrimmed(join(file.freezerV1, 'freezer.state')) === 'FROZEN';
  if (file.unified) return readTrimmed(join(file.unified, 'cgroup.freeze')) === '1';
  return false;
}

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}
