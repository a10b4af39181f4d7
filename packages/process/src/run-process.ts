// Running a short-lived program to completion, from a worker thread.
//
// child_process.spawn forks the calling process and waits for the exec: in
// a service with a large heap that blocks its event loop for 3-10 ms per
// program, and the agent runs several per container (mount, runc, umount,
// ip). Measured in the agent under `run --rm`: spawn() was its largest CPU
// cost, and calls queued behind it. One worker thread per process does the
// spawning instead; the service's loop only posts a message.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import type { ProcessOutput, SpawnReply, SpawnRequest } from './protocol.js';

export type { ProcessOutput } from './protocol.js';

export interface RunOptions {
  /** Written to the program's stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kills the program's process group (SIGKILL) after this long; the output says timedOut. */
  timeoutMs?: number;
}

interface Waiting {
  resolve(output: ProcessOutput): void;
  reject(err: Error): void;
}

let worker: Worker | undefined;
const waiting = new Map<number, Waiting>();
let nextId = 1;

function workerPath(): string {
  const fromSources = import.meta.url.endsWith('.ts');
  const path = fileURLToPath(new URL(fromSources ? '../dist/spawn-worker.js' : './spawn-worker.js', import.meta.url));
  if (!existsSync(path)) throw new Error(`the process worker ${path} is missing: build @berth/process`);
  return path;
}

function failAll(err: Error): void {
  const all = [...waiting.values()];
  waiting.clear();
  for (const w of all) w.reject(err);
}

function spawner(): Worker {
  if (worker) return worker;
  // SHARE_ENV: a program run without env gets the service's environment as it is now.
  const w = new Worker(workerPath(), { env: SHARE_ENV });
  w.on('message', (m: SpawnReply) => {
    const pending = waiting.get(m.id);
    if (!pending) return;
    waiting.delete(m.id);
    if (waiting.size === 0) w.unref();
    if ('output' in m) pending.resolve(m.output);
    else pending.reject(Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {}));
  });
  w.on('error', (err) => failAll(new Error(`the process worker failed: ${err.message}`, { cause: err })));
  w.on('exit', () => {
    if (worker === w) worker = undefined;
    failAll(new Error('the process worker stopped'));
  });
  worker = w;
  return w;
}

/**
 * Runs a program to completion, capturing its output. Rejects only when it
 * cannot be started (the error keeps its code, e.g. ENOENT); a failing exit
 * is an output like any other.
 */
export function runProcess(file: string, args: readonly string[], opts: RunOptions = {}): Promise<ProcessOutput> {
  return new Promise<ProcessOutput>((resolve, reject) => {
    const w = spawner();
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    // The worker keeps the process alive only while a program runs.
    w.ref();
    const req: SpawnRequest = { id, file, args: [...args], input: opts.input, env: opts.env, cwd: opts.cwd, timeoutMs: opts.timeoutMs };
    w.postMessage(req);
  });
}
