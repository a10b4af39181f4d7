// What a command may touch of the process it runs for: its stdio, its
// environment and working directory, its signals and its exit code. The
// `berth` process hands its own (processIo); the CLI host (src/host/) hands
// each client's, so that one host process can run many clients' commands at
// once without any of them reaching for the host's own stdio.
import { resolve } from 'node:path';
import { Readable } from 'node:stream';

/** An output stream as commands use it: Node's process.stdout or a stand-in with the same shape. */
export type Output = NodeJS.WritableStream & {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  writableLength: number;
  destroyed: boolean;
};

/** An input stream as commands use it; raw mode exists only on a terminal. */
export type Input = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown; unref?: () => void };

export interface CliIo {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly stdin: Input;
  readonly env: NodeJS.ProcessEnv;
  /** The working directory relative paths on the command line start from. */
  cwd(): string;
  /** Calls handler on each delivery of signal until the returned function is called. */
  onSignal(signal: NodeJS.Signals, handler: () => void): () => void;
  /** Ends the command at once with this code (the process, or the host's request). */
  exit(code: number): void;
  /** The code the command ends with when it returns. */
  exitCode: number | undefined;
  /** Aborted when the caller is gone before the command ended (the host's client hung up): its calls are cancelled. */
  readonly abortSignal?: AbortSignal;
}

/** The berth process's own. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: () => process.cwd(),
    onSignal(signal, handler) {
      process.on(signal, handler);
      return () => process.off(signal, handler);
    },
    exit: (code) => process.exit(code),
    get exitCode() {
      const code = process.exitCode;
      return typeof code === 'number' ? code : code === undefined ? undefined : Number(code);
    },
    set exitCode(code) {
      process.exitCode = code;
    },
  };
}

/**
 * Writes chunk; when out holds it back (the host's client reads slowly), the
 * promise of its drain, for a stream relay to wait on before reading more.
 */
export function written(out: Output, chunk: string | Uint8Array): Promise<void> | undefined {
  if (out.write(chunk)) return undefined;
  return new Promise((resolve) => out.once('drain', () => resolve()));
}

/** A path given on the command line, relative to the caller's working directory. */
export const pathOf = (io: CliIo, path: string): string => resolve(io.cwd(), path);

/** A stdin with nothing to read (the host's clients never hand theirs over). */
export function emptyInput(): Input {
  const input = Readable.from([]) as Input;
  input.isTTY = false;
  return input;
}
