// Signal arguments of the runtime API: validated, as numbers.
import { SIGRTMAX, signalName, signalNumber } from '@berth/runtime-spec';
import { ContainerError } from '../errors.js';

export { signalName };

/** Parses "SIGKILL", "KILL", "9", 9...; INVALID_ARGUMENT for anything else. */
export function parseSignal(signal: string | number): number {
  const n = signalNumber(signal);
  if (n === undefined) {
    throw new ContainerError(
      'INVALID_ARGUMENT',
      `invalid signal ${JSON.stringify(signal)}: expected a name like SIGTERM or a number from 1 to ${SIGRTMAX}`,
    );
  }
  return n;
}
