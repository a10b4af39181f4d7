// The CLI host: one long-lived process of the stack that runs `berth`
// command lines for clients on a unix socket (bundle/berth connects to it). A
// berth process spends ≈ 40 ms starting Node and loading the CLI before its
// first call, and ≈ 50 ms of CPU per `run -d`; the host has both done
// already, so a client's command costs its calls. Each request gets its own
// CliIo (stdout and stderr as frames, the client's environment and working
// directory, its signals); commands never touch the host's own.
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { constants } from 'node:os';
import { keepChannels } from '../client/session.js';
import { runCli } from '../run-cli.js';
import { emptyInput, type CliIo } from '../stdio/io.js';
import { commandPath, localReason } from './gate.js';
import { callerMismatch, encodeFrame, Frame, FrameReader, parseRequest, type HostRequest, type Identity } from './protocol.js';

/** A command the host hands back to a berth process of the client's own. */
class RunLocally extends Error {}

/**
 * How much output may wait for a client that does not read it. Commands that
 * relay a stream (logs, attach) wait for 'drain'; this bounds the others.
 */
const MAX_QUEUED = 64 * 1024 * 1024;

/**
 * stdout or stderr of a client: each write goes on the socket at once as one
 * frame, so the frames and the exit code after them stay in the order written;
 * backpressure is the socket's (write returns false, 'drain' follows).
 */
class FrameOutput extends EventEmitter {
  readonly isTTY: boolean;
  readonly columns: number | undefined;
  readonly rows: number | undefined;
  writable = true;

  constructor(
    private readonly socket: Socket,
    private readonly type: number,
    tty: boolean,
    size: { columns?: number; rows?: number },
  ) {
    super();
    this.isTTY = tty;
    this.columns = tty ? size.columns : undefined;
    this.rows = tty ? size.rows : undefined;
    socket.on('drain', () => this.emit('drain'));
  }

  /** Wakes whatever waits for 'drain' (the request was abandoned: nothing will drain). */
  release(): void {
    this.writable = false;
    this.emit('drain');
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  write(chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): boolean {
    const done = typeof encoding === 'function' ? encoding : cb;
    const data = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk;
    // after the end, or with the client gone, what is still written goes nowhere (the request is aborted)
    if (!this.writable || this.socket.destroyed || !this.socket.writable || data.length === 0) {
      if (done) process.nextTick(done);
      return true;
    }
    // a client that stopped reading (a paused pager) must not fill the host's memory: past the cap, it is let go
    if (this.socket.writableLength > MAX_QUEUED) {
      this.socket.destroy();
      if (done) process.nextTick(done);
      return true;
    }
    return this.socket.write(encodeFrame(this.type, Buffer.from(data.buffer, data.byteOffset, data.byteLength)), () => done?.());
  }

  end(...args: unknown[]): this {
    const cb = args.find((a): a is () => void => typeof a === 'function');
    const data = args[0];
    if (typeof data === 'string' || data instanceof Uint8Array) this.write(data);
    this.writable = false;
    if (cb) process.nextTick(cb);
    return this;
  }
}

export interface HostLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/** One client's command: started on its request, ended by its exit or its hanging up. */
function runRequest(socket: Socket, request: HostRequest, log: HostLog) {
  const aborted = new AbortController();
  const signals = new EventEmitter();
  // (parseRequest leaves out a size the client did not have)
  const stdout = new FrameOutput(socket, Frame.STDOUT, request.tty[1], request);
  const stderr = new FrameOutput(socket, Frame.STDERR, request.tty[2], request);
  let ended = false;

  /**
   * Sends the exit code, after everything written before it (the socket
   * keeps the order); with a signal, the client dies of it, as a berth
   * process would have.
   */
  const end = (code: number, signal?: string) => {
    if (ended) return;
    ended = true;
    stdout.end();
    stderr.end();
    if (!socket.destroyed && socket.writable) socket.end(encodeFrame(Frame.EXIT, signal ? `${code} ${signal}` : String(code)));
  };
  /** Ends the client now and cancels what the command still has running. */
  const abandon = (code: number | undefined, signal?: string) => {
    if (code !== undefined) end(code, signal);
    ended = true;
    stdout.release();
    stderr.release();
    aborted.abort();
  };

  const io: CliIo = {
    stdout,
    stderr,
    stdin: emptyInput(),
    env: request.env,
    cwd: () => request.cwd,
    onSignal(signal, handler) {
      signals.on(signal, handler);
      return () => signals.off(signal, handler);
    },
    exit: (code) => abandon(code),
    exitCode: undefined,
    abortSignal: aborted.signal,
  };

  const started = Date.now();
  runCli(request.argv, io, {
    beforeAction: (command) => {
      const why = localReason(commandPath(command), command.opts());
      if (why !== undefined) throw new RunLocally(why);
    },
  }).then(
    (code) => {
      log.info({ argv0: request.argv[0], code, ms: Date.now() - started }, 'command');
      end(code);
    },
    (err: unknown) => {
      if (err instanceof RunLocally) {
        ended = true;
        socket.end(encodeFrame(Frame.LOCAL, err.message));
        return;
      }
      log.warn({ err }, 'command failed outside its error handling');
      if (!ended) stderr.write(`berth: ${err instanceof Error ? err.message : String(err)}\n`);
      end(125);
    },
  );

  return {
    /** A signal the client received: the command's handlers get it; without any, it ends the command as it would a berth process. */
    signal(name: string) {
      const signal = `SIG${name}` as NodeJS.Signals;
      const number = (constants.signals as Record<string, number | undefined>)[signal];
      if (number === undefined || ended) return;
      if (signals.listenerCount(signal) > 0) signals.emit(signal);
      else abandon(128 + number, name);
    },
    hungUp: () => {
      if (!ended) abandon(undefined);
      else aborted.abort(); // a command still running after it answered (io.exit) stops too
    },
  };
}

/** Serves one connection: a request, the client's go, then its signals. */
function serveConnection(socket: Socket, log: HostLog, self: Identity): void {
  const reader = new FrameReader();
  let accepted: HostRequest | undefined;
  let running: ReturnType<typeof runRequest> | undefined;
  const refuse = (why: string) => {
    log.warn({ why }, 'bad client');
    socket.destroy();
  };
  socket.on('data', (chunk: Buffer) => {
    let frames;
    try {
      frames = reader.push(chunk);
    } catch (err) {
      return refuse((err as Error).message);
    }
    for (const f of frames) {
      if (f.type === Frame.REQUEST && accepted === undefined) {
        let request: HostRequest;
        try {
          request = parseRequest(f.payload);
        } catch (err) {
          return refuse((err as Error).message);
        }
        const mismatch = callerMismatch(request, self);
        if (mismatch !== undefined) return void socket.end(encodeFrame(Frame.LOCAL, `the caller has ${mismatch}`));
        accepted = request;
        socket.write(encodeFrame(Frame.ACCEPTED, ''));
      } else if (f.type === Frame.GO && accepted !== undefined && running === undefined) {
        running = runRequest(socket, accepted, log);
      } else if (f.type === Frame.SIGNAL && running !== undefined) {
        if (!socket.destroyed && socket.writable) socket.write(encodeFrame(Frame.SIGNAL_TAKEN, ''));
        running.signal(f.payload.toString('latin1'));
      } else {
        return refuse(`unexpected frame ${f.type}`);
      }
    }
  });
  socket.on('error', () => undefined); // a client killed mid-write: 'close' follows
  socket.on('close', () => running?.hungUp());
}

/** Listens on socketPath (which must not exist), for callers that are `self`. */
export function listen(socketPath: string, log: HostLog, self: Identity): Promise<Server> {
  keepChannels();
  const server = createServer((socket) => serveConnection(socket, log, self));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      // from now on (too many open files, ...) a failed accept is logged, not fatal
      server.on('error', (err) => log.warn({ err }, 'cannot accept a client'));
      resolve(server);
    });
  });
}
