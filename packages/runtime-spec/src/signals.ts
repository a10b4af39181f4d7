// Signal names and numbers as Linux (x86-64, arm64) defines them.

const SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9,
  USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17,
  CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25,
  VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31, UNUSED: 31,
};

/** Aliases never chosen as the name of a number. */
const ALIASES = new Set(['IOT', 'CLD', 'POLL', 'UNUSED']);

/** glibc's SIGRTMIN (the kernel's 32 and 33 are taken by the threading library). */
export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

/**
 * The number of "SIGKILL", "KILL", "kill", "9", 9, "SIGRTMIN+3" or
 * "RTMAX-1"; undefined when it is none.
 */
export function signalNumber(signal: string | number): number | undefined {
  if (typeof signal === 'number') return Number.isInteger(signal) && signal >= 1 && signal <= SIGRTMAX ? signal : undefined;
  if (typeof signal !== 'string') return undefined;
  const s = signal.trim().toUpperCase();
  if (/^\d+$/.test(s)) return signalNumber(Number(s));
  const name = s.startsWith('SIG') ? s.slice(3) : s;
  const known = SIGNALS[name];
  if (known !== undefined) return known;
  const rt = /^RT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (!rt) return undefined;
  const offset = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === '-' ? -1 : 1);
  const n = (rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX) + offset;
  return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
}

/** "SIGTERM" for 15; "SIGRTMIN" / "SIGRTMIN+n" for real-time signals; "SIG<n>" otherwise. */
export function signalName(n: number): string {
  for (const [name, num] of Object.entries(SIGNALS)) {
    if (num === n && !ALIASES.has(name)) return `SIG${name}`;
  }
  if (n >= SIGRTMIN && n <= SIGRTMAX) return n === SIGRTMIN ? 'SIGRTMIN' : `SIGRTMIN+${n - SIGRTMIN}`;
  return `SIG${n}`;
}
