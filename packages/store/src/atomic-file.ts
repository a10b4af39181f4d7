import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

const TMP_MARK = '.tmp-berth-';

/** fsync a directory so a rename or unlink inside it is durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A temp name beside `path` that removeTempLeftovers recognises. */
function tempPathFor(path: string): string {
  return join(dirname(path), `${TMP_MARK}${basename(path)}.${randomBytes(6).toString('hex')}`);
}

export interface AtomicWriteOptions {
  /**
   * fsync the file and its directory (default), so the new content also
   * survives a power loss. Without, a killed process still leaves the old or
   * the new content whole, never a half: enough for files rebuilt whenever
   * they are needed (a container's /etc/hosts), and two fsyncs cheaper.
   */
  durable?: boolean;
}

/**
 * Writes a file so readers see either the old or the new content, never a
 * half: temp file in the same directory, fsync, rename, fsync the directory.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, opts: AtomicWriteOptions = {}): void {
  const durable = opts.durable !== false;
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'w', mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  if (durable) fsyncDir(dirname(path));
}

/** writeFileAtomic without blocking the event loop on its two fsyncs. */
export async function writeFileAtomicAsync(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = tempPathFor(path);
  const file = await open(tmp, 'w', mode);
  try {
    await file.writeFile(data);
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await file.close();
  await rename(tmp, path);
  const d = await open(dirname(path), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Removes temp files a crash left behind in `dir` (from writeFileAtomic). */
export function removeTempLeftovers(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    if (name.startsWith(TMP_MARK)) {
      rmSync(join(dir, name), { force: true });
      n++;
    }
  }
  return n;
}
