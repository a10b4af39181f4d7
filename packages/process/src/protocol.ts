// Messages between runProcess (run-process.ts) and its worker (spawn-worker.ts).

export interface ProcessOutput {
  stdout: string;
  stderr: string;
  /** Exit code, or null when the process ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the process was killed because it outlived its timeout. */
  timedOut: boolean;
}

export interface SpawnRequest {
  id: number;
  file: string;
  args: string[];
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string | undefined;
  /** Without it: the service's environment (shared with the worker). */
  env?: Record<string, string | undefined> | undefined;
  cwd?: string | undefined;
  timeoutMs?: number | undefined;
}

export type SpawnReply = { id: number; output: ProcessOutput } | { id: number; error: { message: string; code?: string | undefined } };
