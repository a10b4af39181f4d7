import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { Duplex, type Readable, type Writable } from 'node:stream';
import { SnapshotError } from '../errors.js';

/**
 * zstd compression through the zstd program (Node 20's zlib has no zstd and
 * fzstd only decompresses). `stream` is the pipeline stage; `finished`
 * settles when the program has exited, rejecting unless it succeeded.
 */
export class ZstdCompressor {
  readonly stream: Duplex;
  readonly finished: Promise<void>;
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;

  constructor(level = 3) {
    this.child = spawn('zstd', [`-${level}`, '-q', '-c', '--no-progress'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.stream = Duplex.from({ writable: this.child.stdin, readable: this.child.stdout });
    let stderr = '';
    this.child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    this.finished = new Promise<void>((resolve, reject) => {
      this.child.on('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'ENOENT'
            ? new SnapshotError('failed_precondition', 'zstd compression needs the zstd program, which is not installed (apt-get install zstd)')
            : new Error(`zstd: ${err.message}`),
        ),
      );
      this.child.on('exit', (code, signal) =>
        code === 0 ? resolve() : reject(new Error(`zstd failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`)),
      );
    });
    // The pipeline reports the same failure; keep this one from being unhandled.
    this.finished.catch(() => undefined);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
