// Signal names and numbers as Docker accepts them: "SIGTERM", "term", "15",
// "SIGRTMIN+3". Linux numbering (the only platform berth runs containers on).
import { invalidArgument } from './errors.js';

/** Linux signal numbers (x86-64 and arm64 agree on these). */
const LINUX_SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17, CONT: 18, STOP: 19, TSTP: 20,
  TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29,
  PWR: 30, SYS: 31, UNUSED: 31,
};

export const SIGKILL = 9;
export const SIGTERM = 15;
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/**
 * The number of a signal given by name (with or without "SIG", any case),
 * as "RTMIN+n"/"RTMAX-n", or as a decimal number 1..64. Throws
 * INVALID_ARGUMENT naming the input otherwise.
 */
export function parseSignal(input: string): number {
  const raw = input.trim();
  const fail = () => invalidArgument(`invalid signal ${JSON.stringify(input)}: expected a name such as SIGTERM or TERM, or a number from 1 to ${SIGRTMAX}`);
  if (raw === '') throw fail();
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n < 1 || n > SIGRTMAX) throw fail();
    return n;
  }
  const name = raw.toUpperCase().replace(/^SIG/, '');
  const known = LINUX_SIGNALS[name];
  if (known !== undefined) return known;
  const rt = /^RT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const base = rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX;
    const offset = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === '-' ? -1 : 1);
    const n = base + offset;
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
  }
  throw fail();
}

/** The conventional name of a signal number, e.g. 15 -> "SIGTERM"; "SIG<n>" for unnamed ones. */
export function signalName(signal: number): string {
  for (const [name, n] of Object.entries(LINUX_SIGNALS)) {
    if (n === signal && !['IOT', 'CLD', 'POLL', 'UNUSED'].includes(name)) return `SIG${name}`;
  }
  if (signal === SIGRTMIN) return 'SIGRTMIN';
  if (signal > SIGRTMIN && signal <= SIGRTMAX) return `SIGRTMIN+${signal - SIGRTMIN}`;
  return `SIG${signal}`;
}
