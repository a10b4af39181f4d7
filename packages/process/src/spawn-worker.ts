// Worker side of runProcess: spawns each requested program and reports how
// it ended. Here fork and exec block this thread's loop, not the service's.
import { spawn } from 'node:child_process';
import { parentPort } from 'node:worker_threads';
import type { SpawnReply, SpawnRequest } from './protocol.js';

function run(port: NonNullable<typeof parentPort>, req: SpawnRequest): void {
  const reply = (m: SpawnReply) => port.postMessage(m);
  // Own process group, so a timeout kills the program and anything it
  // started (a grandchild holding our pipes open would otherwise keep us waiting).
  const child = spawn(req.file, req.args, {
    stdio: [req.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: true,
    ...(req.env ? { env: req.env } : {}),
    ...(req.cwd ? { cwd: req.cwd } : {}),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let timedOut = false;
  const timer =
    req.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          try {
            if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        }, req.timeoutMs)
      : undefined;
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  child.on('error', (e: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    reply({ id: req.id, error: { message: e.message, code: e.code } });
  });
  child.on('close', (code, signal) => {
    clearTimeout(timer);
    reply({
      id: req.id,
      output: { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, signal, timedOut },
    });
  });
  if (child.stdin) {
    // A program that exits without reading its input must not fail the worker with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(req.input);
  }
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (req: SpawnRequest) => run(port, req));
}
