import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TarReader, type TarHeader } from '../src/index.js';

/** The buffer as a stream of `chunk`-byte pieces (1 exercises every boundary). */
export async function* streamOf(buf: Buffer, chunk = 7919): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
}

/** A chunked stream that records whether its consumer ended it (closing files and sockets behind it). */
export function closableStream(buf: Buffer, chunk: number): { stream: AsyncGenerator<Buffer>; closed: () => boolean } {
  let closed = false;
  async function* stream(): AsyncGenerator<Buffer> {
    try {
      yield* streamOf(buf, chunk);
    } finally {
      closed = true;
    }
  }
  return { stream: stream(), closed: () => closed };
}

/** Every member with its data, read through TarReader. */
export async function readAll(tar: Buffer, chunk = 333): Promise<{ entry: TarHeader; body: Buffer }[]> {
  const reader = new TarReader(streamOf(tar, chunk));
  const out: { entry: TarHeader; body: Buffer }[] = [];
  for (let e = await reader.next(); e; e = await reader.next()) {
    const parts: Buffer[] = [];
    for await (const c of reader.body()) parts.push(Buffer.from(c));
    out.push({ entry: e, body: Buffer.concat(parts) });
  }
  return out;
}

/** Sets a header block's checksum after a test changed its bytes. */
export function fixChecksum(header: Buffer, at = 0): Buffer {
  header.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += header[i]!;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 8, 'latin1');
  return header;
}

/** Fails loudly when a binary the suite needs is missing. */
export function requireBinaries(...names: string[]): void {
  for (const n of names) {
    try {
      execFileSync('sh', ['-c', `command -v ${n}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`this test needs the ${n} binary, which is not installed`);
    }
  }
}

/** Temp dirs of one suite, removed by cleanup(). */
export class TempDirs {
  private dirs: string[] = [];
  make(prefix = 'berth-tar-'): string {
    const d = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(d);
    return d;
  }
  cleanup(): void {
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}
