// Starting a created container as `runc start` does, without forking runc
// (a Go binary: ≈ 5 ms of every start, on the path of every `run`).
//
// runc (libcontainer 1.x) leaves `runc init` blocked in open(2) of
// <root>/<id>/exec.fifo for writing once `runc create` returns. `runc start`
// opens the fifo for reading, which lets init write one byte and exec the
// container's process (the fifo closes with the exec), reads that byte, and
// removes the fifo: its absence is what makes runc (and runc-state-file.ts)
// call the container running. That is all `runc start` does for a created
// container without NOTIFY_SOCKET; hooks ran at create.
import { constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';

export const EXEC_FIFO = 'exec.fifo';

/** How often a blocked open checks that init is still there (runc checks every 100 ms too). */
const INIT_CHECK_MS = 100;

/**
 * Releases runc init waiting on the fifo at `path`. initGone is asked while
 * the open waits for a writer: when init is gone, nothing would ever open
 * the fifo, so this opens it for writing itself to end the wait, and fails
 * as runc does ("container process is already dead").
 */
export async function releaseExecFifo(path: string, initGone: () => Promise<boolean>): Promise<void> {
  // A blocking open: init may not have reached its own open yet when runc create has returned.
  const opening = open(path, constants.O_RDONLY);
  let gone = false;
  let checking = false;
  const timer = setInterval(() => {
    if (checking || gone) return;
    checking = true;
    void (async () => {
      try {
        if (!(await initGone())) return;
        gone = true;
        // A reader blocked in open counts as one: this non-blocking open for writing succeeds and ends the wait.
        const unblock = await open(path, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
        await unblock?.close();
      } finally {
        checking = false;
      }
    })();
  }, INIT_CHECK_MS);
  let fifo;
  try {
    fifo = await opening;
  } finally {
    clearInterval(timer);
  }
  let data: Buffer;
  try {
    // Until EOF: init's end closes when it execs the process.
    data = await fifo.readFile();
  } finally {
    await fifo.close();
  }
  if (data.length === 0) throw new Error(gone ? 'container process is already dead' : 'cannot start an already running container');
  await unlink(path);
}
