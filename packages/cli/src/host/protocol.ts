// The wire between the `berth` client (bundle/berth: scripts/client.pl) and
// the CLI host: frames of a type byte, a 32-bit big-endian length and the
// payload, both ways over one unix socket connection.
// A command starts in three steps, so that a client that gave up waiting
// (a host too slow or hung: it then runs the command itself) can be sure
// the host never runs it too:
//   client → host: REQUEST (JSON, once)
//   host → client: ACCEPTED, or LOCAL (run it in a berth process instead)
//   client → host: GO; then SIGNAL (a name: "INT") for each signal it gets
//   host → client: LOCAL (the parsed command needs what the host has not:
//                  nothing ran), or STDOUT, STDERR (bytes), SIGNAL_TAKEN (one per SIGNAL,
//                  so that a client of a hung host can still die of its
//                  signals), EXIT ("130", or "130 INT": die of SIGINT)

export const Frame = {
  REQUEST: 0x52, // R
  ACCEPTED: 0x41, // A
  GO: 0x47, // G
  SIGNAL: 0x53, // S
  STDOUT: 0x4f, // O
  STDERR: 0x45, // E
  SIGNAL_TAKEN: 0x4b, // K
  EXIT: 0x58, // X
  LOCAL: 0x4c, // L
} as const;

/** The largest frame accepted (a request carries an environment, not data). */
export const MAX_FRAME = 1024 * 1024;

/** Who asks: a command runs in the host only for a caller it could be (same user, umask and files). */
export interface Identity {
  uid: number;
  umask: number;
  /** /proc/self/ns/mnt's link: "mnt:[4026531841]". */
  mountNamespace: string;
  /** The build of the CLI (bundle/build-id): a host of another build would run other code. */
  build: string;
}

export interface HostRequest extends Identity {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** isatty(0), isatty(1), isatty(2). */
  tty: [boolean, boolean, boolean];
  /** The terminal's size when stdout is one. */
  columns?: number;
  rows?: number;
}

export function encodeFrame(type: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.allocUnsafe(5);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into frames. Pure but for its buffer. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** The frames completed by chunk; throws on a frame larger than MAX_FRAME. */
  push(chunk: Buffer): { type: number; payload: Buffer }[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: { type: number; payload: Buffer }[] = [];
    while (this.pending.length >= 5) {
      const length = this.pending.readUInt32BE(1);
      if (length > MAX_FRAME) throw new Error(`frame of ${length} bytes (at most ${MAX_FRAME})`);
      if (this.pending.length < 5 + length) break;
      frames.push({ type: this.pending[0]!, payload: this.pending.subarray(5, 5 + length) });
      this.pending = this.pending.subarray(5 + length);
    }
    return frames;
  }
}

/** A request frame's payload, checked. */
export function parseRequest(payload: Buffer): HostRequest {
  const r = JSON.parse(payload.toString('utf8')) as Partial<HostRequest>;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (!strings(r.argv)) throw new Error('request without argv');
  if (typeof r.cwd !== 'string' || !r.cwd.startsWith('/')) throw new Error('request without an absolute cwd');
  if (r.env === null || typeof r.env !== 'object' || !Object.values(r.env).every((v) => typeof v === 'string')) {
    throw new Error('request without env');
  }
  const t = Array.isArray(r.tty) ? r.tty : [];
  const tty: [boolean, boolean, boolean] = [t[0] === true, t[1] === true, t[2] === true];
  const size = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
  const columns = size(r.columns);
  const rows = size(r.rows);
  if (typeof r.uid !== 'number' || typeof r.umask !== 'number' || typeof r.mountNamespace !== 'string' || typeof r.build !== 'string') throw new Error('request without the caller\'s identity');
  return {
    argv: r.argv,
    env: r.env,
    cwd: r.cwd,
    tty,
    uid: r.uid,
    umask: r.umask,
    mountNamespace: r.mountNamespace,
    build: r.build,
    ...(columns ? { columns } : {}),
    ...(rows ? { rows } : {}),
  };
}

/**
 * Why the host cannot run a request for its caller, or undefined. The host
 * opens the caller's files (--env-file, load -i, save -o) as itself, in its
 * mount namespace, with its umask; paths in the caller's environment must not
 * depend on a working directory. Pure.
 */
export function callerMismatch(r: HostRequest, self: Identity): string | undefined {
  if (r.uid !== self.uid) return 'another user';
  if (r.umask !== self.umask) return 'another umask';
  if (r.mountNamespace !== self.mountNamespace) return 'another mount namespace';
  if (r.build !== self.build) return 'another build of berth (restart the CLI host: berth system down, then up)';
  for (const name of ['BERTH_RUNTIME_DIR', 'BERTH_ROOT', 'DOCKER_CONFIG', 'HOME']) {
    const value = r.env[name];
    if (value !== undefined && value !== '' && !value.startsWith('/')) return `a relative ${name}`;
  }
  return undefined;
}
