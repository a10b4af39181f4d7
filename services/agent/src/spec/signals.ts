// Signal names and numbers as Linux (x86-64, arm64) defines them. Pure.

const SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9,
  USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17,
  CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25,
  VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31,
};

const SIGRTMIN = 34;
export const SIGRTMAX = 64;

/** "SIGKILL", "KILL", "kill", "9", 9 or "SIGRTMIN+3" as a number; undefined if it is none. */
export function signalNumber(signal: string | number): number | undefined {
  if (typeof signal === 'number') return Number.isInteger(signal) && signal >= 1 && signal <= SIGRTMAX ? signal : undefined;
  const s = signal.trim().toUpperCase();
  if (/^\d+$/.test(s)) return signalNumber(Number(s));
  const name = s.startsWith('SIG') ? s.slice(3) : s;
  const known = SIGNALS[name];
  if (known !== undefined) return known;
  const rt = /^RT(MIN|MAX)([+-]\d+)?$/.exec(name);
  if (rt) {
    const n = (rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
  }
  return undefined;
}

/** "SIGTERM" for 15; "SIGRTMIN+n" for real-time signals; "SIG<n>" otherwise. */
export function signalName(n: number): string {
  for (const [name, num] of Object.entries(SIGNALS)) {
    if (num === n && name !== 'IOT' && name !== 'POLL') return `SIG${name}`;
  }
  if (n >= SIGRTMIN && n <= SIGRTMAX) return n === SIGRTMIN ? 'SIGRTMIN' : `SIGRTMIN+${n - SIGRTMIN}`;
  return `SIG${n}`;
}
