// runc reports a process that cannot be executed as an error of `runc create`
// (init process) or `runc exec`, e.g.
//   unable to start container process: exec: "nosuch": executable file not found in $PATH
//   unable to start container process: exec: "/etc/passwd": permission denied
// Docker turns these into exit codes 127 and 126; so do we.

export interface ExecFailure {
  kind: 'not-found' | 'not-executable';
  exitCode: 127 | 126;
  /** The executable runc tried, as it printed it. */
  executable: string;
  reason: string;
}

const EXEC_ERROR = /exec: "((?:[^"\\]|\\.)*)": ([^\n;]+)/;

export function classifyExecFailure(message: string): ExecFailure | undefined {
  const m = EXEC_ERROR.exec(message);
  if (!m) return undefined;
  const executable = m[1] ?? '';
  const reason = (m[2] ?? '').trim();
  if (/executable file not found|no such file or directory/i.test(reason)) {
    return { kind: 'not-found', exitCode: 127, executable, reason };
  }
  if (/permission denied|exec format error|is a directory|not a directory/i.test(reason)) {
    return { kind: 'not-executable', exitCode: 126, executable, reason };
  }
  return undefined;
}
