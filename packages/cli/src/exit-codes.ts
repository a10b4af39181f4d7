// Docker's exit codes for a container that could not run: 125 when berth
// itself failed, 126 when the command cannot be invoked, 127 when it is not found.

export const EXIT_BERTH_ERROR = 125;
export const EXIT_CANNOT_INVOKE = 126;
export const EXIT_NOT_FOUND = 127;

/**
 * The exit code for a failed start, from the exit status the tasks service
 * recorded (126/127) or else from the failure's message, as Docker decides it.
 */
export function startFailureCode(message: string, recordedExitCode?: number): number {
  if (recordedExitCode === EXIT_CANNOT_INVOKE || recordedExitCode === EXIT_NOT_FOUND) return recordedExitCode;
  const m = message.toLowerCase();
  // runc: exec: "nope": executable file not found in $PATH / exec: "/x": stat /x: no such file or directory
  if (/executable file not found|command not found|exec\b[^\n]*no such file or directory/.test(m)) return EXIT_NOT_FOUND;
  if (/exec\b[^\n]*(permission denied|exec format error|is a directory)/.test(m)) return EXIT_CANNOT_INVOKE;
  return EXIT_BERTH_ERROR;
}
