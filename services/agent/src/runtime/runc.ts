// Thin wrapper over the runc CLI with a private --root, so each agent (and each
// test suite) sees only its own containers.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, type CommandResult } from '../command.js';
import { EXEC_FIFO, releaseExecFifo } from './exec-fifo.js';
import { readRuncStateFile } from './runc-state-file.js';
import { deleteStoppedContainer } from './runc-stopped-delete.js';

export type RuncStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface RuncState {
  id: string;
  pid: number;
  status: RuncStatus;
  bundle: string;
  created: string;
}

/** A runc invocation that failed; `message` is runc's own error text. */
export class RuncError extends Error {
  override readonly name = 'RuncError';
  readonly args: readonly string[];
  readonly result: CommandResult;
  /** runc's error message without the logrus decoration. */
  readonly runcMessage: string;

  constructor(args: readonly string[], result: CommandResult) {
    const runcMessage = extractRuncMessage(result.stderr || result.stdout);
    const how = result.code !== null ? `exit code ${result.code}` : `signal ${result.signal ?? '?'}`;
    super(`runc ${args.join(' ')} failed (${how}): ${runcMessage || 'no error message'}`);
    this.args = args;
    this.result = result;
    this.runcMessage = runcMessage;
  }
}

/**
 * runc prints errors as logrus lines (`time=".." level=error msg="..."`);
 * this returns the msg values joined, or the raw text if there is none.
 */
export function extractRuncMessage(stderr: string): string {
  const messages: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /\blevel=(?:error|fatal)\s+msg="((?:[^"\\]|\\.)*)"/.exec(line);
    if (m?.[1] !== undefined) messages.push(unescapeGoString(m[1]));
  }
  return messages.length > 0 ? messages.join('; ') : stderr.trim();
}

function unescapeGoString(s: string): string {
  return s.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

export function isNotExistMessage(message: string): boolean {
  return /container does not exist|container ".*" does not exist|no such container/i.test(message);
}

export interface RuncOptions {
  /** Path of the runc binary. */
  path: string;
  /** runc --root: where runc keeps its own per-container state. */
  root: string;
}

export class Runc {
  readonly path: string;
  readonly root: string;

  constructor(opts: RuncOptions) {
    this.path = opts.path;
    this.root = opts.root;
  }

  /** Runs `runc --root <root> <args>`; throws RuncError on a non-zero exit. */
  async run(args: readonly string[], timeoutMs = 60_000, input?: string): Promise<string> {
    const full = ['--root', this.root, ...args];
    const result = await runCommand(this.path, full, input === undefined ? { timeoutMs } : { timeoutMs, input });
    if (result.code !== 0) throw new RuncError(args, result);
    return result.stdout;
  }

  /** The container's runc state, or undefined when runc does not know it (read from runc's files; runc itself when they are not understood). */
  async state(id: string): Promise<RuncState | undefined> {
    const reading = await readRuncStateFile(this.root, id);
    if (reading.kind === 'state') return reading.state;
    if (reading.kind === 'absent') return undefined;
    return this.stateFromRunc(id);
  }

  /** `runc state`. */
  async stateFromRunc(id: string): Promise<RuncState | undefined> {
    try {
      return parseRuncState(JSON.parse(await this.run(['state', id])));
    } catch (err) {
      if (err instanceof RuncError && isNotExistMessage(err.runcMessage)) return undefined;
      throw err;
    }
  }

  /** Every container runc knows (read from runc's files; `runc list` when they are not understood). */
  async list(): Promise<RuncState[]> {
    let ids: string[];
    try {
      ids = await readdir(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const states: RuncState[] = [];
    for (const id of ids) {
      const reading = await readRuncStateFile(this.root, id);
      if (reading.kind === 'unknown') return this.listFromRunc();
      if (reading.kind === 'state') states.push(reading.state);
    }
    return states;
  }

  /** `runc list`. */
  async listFromRunc(): Promise<RuncState[]> {
    const out = await this.run(['list', '--format', 'json']);
    const parsed: unknown = JSON.parse(out.trim() || 'null');
    if (parsed === null) return [];
    if (!Array.isArray(parsed)) throw new Error(`runc list returned ${typeof parsed}, expected an array`);
    return parsed.map(parseRuncState);
  }

  /**
   * Starts a created container: releases its exec fifo as `runc start` does
   * (exec-fifo.ts), or runs `runc start` when the fifo is not where runc 1.x
   * keeps it.
   */
  async start(id: string): Promise<void> {
    const fifo = join(this.root, id, EXEC_FIFO);
    if (!existsSync(fifo)) {
      await this.run(['start', id]);
      return;
    }
    await releaseExecFifo(fifo, async () => (await this.state(id))?.status !== 'created');
  }

  async kill(id: string, signal: number, all: boolean): Promise<void> {
    await this.run(['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }

  /** `runc delete`; a stopped container that needs nothing more than its cgroups and state removed, without forking runc. */
  async delete(id: string, force: boolean): Promise<void> {
    // Whatever the native path could not do (or failed at half-way) `runc delete` does, or finishes.
    if (!force && (await deleteStoppedContainer(this.root, id).catch(() => undefined))?.kind === 'deleted') return;
    await this.run(['delete', ...(force ? ['--force'] : []), id]);
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id]);
  }

  /** `runc update --resources -`: new cgroup limits from an OCI LinuxResources object. */
  async update(id: string, resources: object): Promise<void> {
    await this.run(['update', '--resources', '-', id], 60_000, JSON.stringify(resources));
  }

  async ps(id: string): Promise<number[]> {
    const parsed: unknown = JSON.parse((await this.run(['ps', '--format', 'json', id])).trim() || '[]');
    if (!Array.isArray(parsed) || !parsed.every((p) => Number.isInteger(p))) {
      throw new Error(`runc ps returned unexpected output for ${id}`);
    }
    return parsed as number[];
  }
}

function parseRuncState(value: unknown): RuncState {
  if (typeof value !== 'object' || value === null) throw new Error('runc state: expected an object');
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || typeof v.status !== 'string') throw new Error('runc state: missing id or status');
  return {
    id: v.id,
    pid: typeof v.pid === 'number' ? v.pid : 0,
    status: v.status as RuncStatus,
    bundle: typeof v.bundle === 'string' ? v.bundle : '',
    created: typeof v.created === 'string' ? v.created : '',
  };
}
