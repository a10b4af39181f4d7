// Signals as the API takes them: "SIGTERM", "term", "15", "SIGRTMIN+3"
// (Linux numbering, the only platform berth runs containers on).
import { SIGRTMAX, signalName, signalNumber } from '@berth/runtime-spec';
import { invalidArgument } from './errors.js';

export { signalName };

export const SIGKILL = 9;
export const SIGTERM = 15;

/** The number of a signal given by name or number; INVALID_ARGUMENT naming the input otherwise. */
export function parseSignal(input: string): number {
  const n = signalNumber(input);
  if (n === undefined) {
    throw invalidArgument(`invalid signal ${JSON.stringify(input)}: expected a name such as SIGTERM or TERM, or a number from 1 to ${SIGRTMAX}`);
  }
  return n;
}
