import {
  chmodSync,
  closeSync,
  constants as fsc,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { LayerError, SnapshotError } from '../errors.js';
import type { ApplyTarget } from '../drivers/driver.js';
import { copyPreserving } from '../fsops/cp.js';
import { FsHelper, FsOpError, S_IFBLK, S_IFCHR, S_IFIFO } from '../fsops/helper.js';
import {
  CompressionError,
  TarFormatError,
  TarReader,
  TarTruncatedError,
  compressionOfMediaType,
  openDecompressed,
  type Compression,
  type TarHeader,
} from '@berth/tar';
import { joinRel, memberComponents, whiteoutOf } from './paths.js';
import { MergedTree, isOverlayXattr, isWhiteoutStat, lstatOrNull } from './tree.js';

export interface ApplyOptions {
  /** Layer media type (OCI or Docker); compression is sniffed either way and must agree with it. */
  mediaType?: string;
  /** sha256 of the uncompressed stream the layer must have ("sha256:<hex>"). */
  expectedDiffId?: string;
  /** Create char/block device nodes from the layer (default true: image layers carry /dev entries). */
  allowDevices?: boolean;
}

export interface ApplyStats {
  entries: number;
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  /** Char/block devices and fifos. */
  specials: number;
  whiteouts: number;
  opaqueDirs: number;
  /** Bytes of regular file content written. */
  fileBytes: number;
  /** Length of the uncompressed tar stream. */
  tarBytes: number;
  /** Length of the stream as given (compressed). */
  compressedBytes: number;
  compression: Compression;
  /** xattrs not applied: overlay's own (never from a layer) or unsupported by the filesystem. */
  skippedXattrs: string[];
}

export interface ApplyResult {
  diffId: string;
  stats: ApplyStats;
}

const S_IF = { char: S_IFCHR, block: S_IFBLK, fifo: S_IFIFO } as const;
const OPEN_NEW = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

function emptyStats(): ApplyStats {
  return {
    entries: 0,
    files: 0,
    dirs: 0,
    symlinks: 0,
    hardlinks: 0,
    specials: 0,
    whiteouts: 0,
    opaqueDirs: 0,
    fileBytes: 0,
    tarBytes: 0,
    compressedBytes: 0,
    compression: 'none',
    skippedXattrs: [],
  };
}

/** Applies the entries of one layer to a target; one instance per layer. */
class LayerApplier {
  readonly tree: MergedTree;
  current = '';

  constructor(
    target: ApplyTarget,
    private readonly helper: FsHelper,
    private readonly reader: TarReader,
    private readonly opts: ApplyOptions,
    private readonly stats: ApplyStats,
  ) {
    this.tree = new MergedTree(target, helper, () => this.current);
  }

  private refuse(message: string): never {
    throw new LayerError(`entry ${JSON.stringify(this.current)}: ${message}`, this.current);
  }

  async entry(e: TarHeader): Promise<void> {
    this.current = e.name;
    this.stats.entries++;
    const comps = memberComponents(e.name);
    if (comps.length === 0) {
      if (e.type !== 'dir') this.refuse(`names the layer root but is a ${e.type}`);
      await this.metadata('', e);
      this.tree.deferredTimes.push({ rel: '', atime: e.mtime, mtime: e.mtime });
      return;
    }
    const parent = comps.slice(0, -1);
    const base = comps[comps.length - 1]!;
    const wo = whiteoutOf(base, e.name);
    if (wo.kind === 'meta') return; // aufs bookkeeping (.wh..wh.plnk, …): not content
    if (wo.kind === 'opaque') return this.opaque(parent);
    if (wo.kind === 'whiteout') return this.whiteout(parent, wo.name);
    if ((e.type === 'char' || e.type === 'block') && this.opts.allowDevices === false) {
      this.refuse(`is a ${e.type} device (${e.devmajor}:${e.devminor}) but device nodes are not allowed here`);
    }
    if (e.type === 'hardlink') return this.hardlink(parent, base, e);
    await this.tree.resolveDir(parent, true);
    const rel = joinRel(comps);
    const dir = joinRel(parent);
    switch (e.type) {
      case 'dir':
        return this.dir(rel, dir, e);
      case 'file':
        return this.file(rel, dir, e);
      case 'symlink':
        return this.symlink(rel, dir, e);
      default:
        return this.special(rel, dir, e);
    }
  }

  /**
   * Clears the slot for a new entry: an existing directory is kept for a
   * directory entry; anything else there is removed. Returns whether a
   * whiteout was replaced (a directory there must then be opaque).
   */
  private clearSlot(rel: string, forDir: boolean): { reuse: boolean; replacedWhiteout: boolean } {
    const st = this.tree.upperStat(rel);
    if (!st) return { reuse: false, replacedWhiteout: false };
    if (forDir && st.isDirectory()) return { reuse: true, replacedWhiteout: false };
    const replacedWhiteout = this.tree.overlay && isWhiteoutStat(st);
    this.tree.removeUpper(rel);
    return { reuse: false, replacedWhiteout };
  }

  private async dir(rel: string, parent: string, e: TarHeader): Promise<void> {
    const slot = this.clearSlot(rel, true);
    const path = this.tree.abs(rel);
    if (!slot.reuse) {
      mkdirSync(path, 0o700);
      this.tree.madeDir(rel);
    }
    this.tree.written.add(rel);
    if (slot.replacedWhiteout) await this.tree.setOpaque(rel);
    await this.metadata(rel, e, !slot.reuse && this.tree.createdWithOwner(parent, e.uid, e.gid));
    this.tree.deferredTimes.push({ rel, atime: e.mtime, mtime: e.mtime });
    this.stats.dirs++;
  }

  private async file(rel: string, parent: string, e: TarHeader): Promise<void> {
    this.clearSlot(rel, false);
    const fd = openSync(this.tree.abs(rel), OPEN_NEW, 0o600);
    this.tree.madeEntry(rel);
    try {
      for await (const chunk of this.reader.body()) {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      }
      if (!this.tree.createdWithOwner(parent, e.uid, e.gid)) fchownSync(fd, e.uid, e.gid);
      fchmodSync(fd, e.mode); // after chown, which clears setuid/setgid
      futimesSync(fd, e.mtime, e.mtime);
    } finally {
      closeSync(fd);
    }
    this.tree.written.add(rel);
    await this.xattrs(rel, e);
    this.stats.files++;
    this.stats.fileBytes += e.size;
  }

  private async symlink(rel: string, parent: string, e: TarHeader): Promise<void> {
    if (e.linkname === '') this.refuse('is a symlink with an empty target');
    if (e.linkname.includes('\0')) this.refuse('has a symlink target with a NUL byte');
    this.clearSlot(rel, false);
    const path = this.tree.abs(rel);
    symlinkSync(e.linkname, path);
    this.tree.madeEntry(rel);
    if (!this.tree.createdWithOwner(parent, e.uid, e.gid)) lchownSync(path, e.uid, e.gid);
    await this.xattrs(rel, e);
    lutimesSync(path, e.mtime, e.mtime);
    this.tree.written.add(rel);
    this.stats.symlinks++;
  }

  private async special(rel: string, parent: string, e: TarHeader): Promise<void> {
    this.clearSlot(rel, false);
    const path = this.tree.abs(rel);
    const type = S_IF[e.type as keyof typeof S_IF];
    await this.helper.mknod(path, type | e.mode, e.devmajor, e.devminor);
    this.tree.madeEntry(rel);
    if (!this.tree.createdWithOwner(parent, e.uid, e.gid)) lchownSync(path, e.uid, e.gid);
    chmodSync(path, e.mode); // the node was just made by mknodat, which does not follow: not a symlink
    await this.xattrs(rel, e);
    lutimesSync(path, e.mtime, e.mtime);
    this.tree.written.add(rel);
    this.stats.specials++;
  }

  /**
   * A hardlink's target is resolved like any path (no '..', no symlink in
   * its parents) and must already exist in the merged view; a target only in
   * a lower layer is copied up first (hardlinks cannot cross layers).
   */
  private async hardlink(parent: string[], base: string, e: TarHeader): Promise<void> {
    const target = memberComponents(e.linkname, 'hardlink target');
    if (target.length === 0) this.refuse('is a hardlink to the layer root');
    const tParent = target.slice(0, -1);
    const tBase = target[target.length - 1]!;
    if (!(await this.tree.resolveDir(tParent, false))) this.refuse(`is a hardlink to ${JSON.stringify(e.linkname)}, which does not exist`);
    const node = await this.tree.node(tParent, tBase);
    if (node.where === 'none') this.refuse(`is a hardlink to ${JSON.stringify(e.linkname)}, which does not exist`);
    if (node.st.isDirectory()) this.refuse(`is a hardlink to ${JSON.stringify(e.linkname)}, which is a directory`);
    const rel = joinRel([...parent, base]);
    if (node.rel === rel) return; // a link to itself: already there
    if (node.where === 'lower') {
      await this.tree.resolveDir(tParent, true);
      await copyPreserving(this.tree.lowerAbs(node.layer, node.rel), this.tree.abs(node.rel));
      this.tree.madeEntry(node.rel);
    }
    await this.tree.resolveDir(parent, true);
    this.clearSlot(rel, false);
    try {
      linkSync(this.tree.abs(node.rel), this.tree.abs(rel));
    } catch (err) {
      this.refuse(`hardlink to ${JSON.stringify(e.linkname)} failed: ${(err as Error).message}`);
    }
    this.tree.madeEntry(rel);
    this.tree.written.add(rel);
    this.stats.hardlinks++;
  }

  /**
   * `.wh.NAME`: NAME from lower layers disappears. Content of this same layer
   * stays (OCI: whiteouts apply to lower layers only); a directory this layer
   * made becomes opaque instead.
   */
  private async whiteout(parent: string[], name: string): Promise<void> {
    this.stats.whiteouts++;
    if (!(await this.tree.resolveDir(parent, false))) return; // nothing there to hide
    const rel = joinRel([...parent, name]);
    if (this.tree.written.has(rel)) {
      if (lstatOrNull(this.tree.abs(rel))?.isDirectory()) await this.opaque([...parent, name], false);
      return;
    }
    if (!this.tree.overlay) {
      this.tree.removeUpper(rel);
      return;
    }
    let node = await this.tree.node(parent, name);
    if (node.where === 'upper') {
      this.tree.removeUpper(rel); // left by an earlier apply into this same snapshot
      node = await this.tree.node(parent, name);
    }
    if (node.where !== 'lower') return;
    await this.tree.resolveDir(parent, true);
    await this.helper.mknod(this.tree.abs(rel), S_IFCHR, 0, 0);
    this.tree.madeEntry(rel);
  }

  /**
   * `.wh..wh..opq` in D: everything lower layers have in D disappears; what
   * this layer put in D stays. overlay: trusted.overlay.opaque=y on D in the
   * upper dir; native: the lower content is deleted.
   */
  private async opaque(dir: string[], count = true): Promise<void> {
    if (count) this.stats.opaqueDirs++;
    await this.tree.resolveDir(dir, true);
    const rel = joinRel(dir);
    if (this.tree.overlay) {
      if (rel === '') {
        // overlay does not honour an opaque root: hide each lower name instead.
        for (const name of await this.tree.lowerNames([])) {
          if (this.tree.written.has(name)) continue;
          const node = await this.tree.node([], name);
          if (node.where === 'upper') this.tree.removeUpper(name);
          if ((await this.tree.node([], name)).where === 'lower') {
            await this.helper.mknod(this.tree.abs(name), S_IFCHR, 0, 0);
            this.tree.madeEntry(name);
          }
        }
      } else await this.tree.setOpaque(rel);
    }
    this.pruneUnwritten(rel);
  }

  /** Removes what this layer did not write below rel (left by lower content, or an earlier apply). */
  private pruneUnwritten(rel: string): void {
    for (const name of readdirSync(this.tree.abs(rel))) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (!this.tree.written.has(child)) {
        // overlay roots keep the whiteouts just made for an opaque root
        const st = lstatOrNull(this.tree.abs(child));
        if (rel === '' && this.tree.overlay && st && isWhiteoutStat(st)) continue;
        this.tree.removeUpper(child);
      } else if (lstatOrNull(this.tree.abs(child))?.isDirectory()) this.pruneUnwritten(child);
    }
  }

  /** A directory's owner, mode and xattrs; `owned`: it was just made with the entry's owner already. */
  private async metadata(rel: string, e: TarHeader, owned = false): Promise<void> {
    const path = this.tree.abs(rel);
    if (!owned) lchownSync(path, e.uid, e.gid);
    chmodSync(path, e.mode); // a directory we verified (lstat) or made: not a symlink
    this.tree.noteDirMode(rel, e.mode);
    await this.xattrs(rel, e);
  }

  private async xattrs(rel: string, e: TarHeader): Promise<void> {
    for (const [name, value] of e.xattrs) {
      if (isOverlayXattr(name)) {
        this.stats.skippedXattrs.push(`${e.name}: ${name} (overlay-internal)`);
        continue;
      }
      try {
        await this.helper.setXattr(this.tree.abs(rel), name, value);
      } catch (err) {
        if (err instanceof FsOpError && (err.code === 'EOPNOTSUPP' || err.code === 'ENOTSUP')) {
          this.stats.skippedXattrs.push(`${e.name}: ${name} (not supported by the filesystem)`);
          continue;
        }
        throw err;
      }
    }
  }

  /** Directory times last: creating entries inside a directory changes its mtime. */
  finish(): void {
    for (const { rel, atime, mtime } of this.tree.deferredTimes) {
      const path = this.tree.abs(rel);
      if (this.tree.isUpperDir(rel) || lstatOrNull(path)?.isDirectory()) lutimesSync(path, atime, mtime);
    }
  }
}

function asLayerError(err: unknown, entry: string | undefined, mediaType: string | undefined): Error {
  if (err instanceof SnapshotError) return err;
  if (err instanceof TarTruncatedError) return new LayerError(err.message, err.entry ?? entry, { cause: err, code: 'data_loss' });
  if (err instanceof TarFormatError) return new LayerError(err.message, err.entry ?? entry, { cause: err });
  if (err instanceof CompressionError) {
    const message = err.reason === 'mismatch' ? `layer (${mediaType ?? 'no media type'}) ${err.message}` : err.message;
    return new LayerError(message, undefined, { cause: err, code: 'data_loss' });
  }
  const where = entry ? `entry ${JSON.stringify(entry)}: ` : '';
  const e = err as NodeJS.ErrnoException;
  return new SnapshotError('internal', `${where}applying failed: ${e.message ?? String(err)}`, { cause: err });
}

/**
 * Streams one layer (gzip, zstd or plain tar) into target and returns the
 * sha256 of its uncompressed stream. The whole stream is read (trailing
 * bytes included) before the digest is checked against expectedDiffId; on
 * a mismatch the caller must discard the target.
 */
export async function applyTar(target: ApplyTarget, input: AsyncIterable<Uint8Array>, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const stats = emptyStats();
  const helper = new FsHelper();
  let sha256: (() => string) | undefined;
  let applier: LayerApplier | undefined;
  let reader: TarReader | undefined;
  try {
    const opened = await openDecompressed(input, {
      declared: compressionOfMediaType(opts.mediaType),
      onCompressed: (n) => (stats.compressedBytes += n),
      sha256: true, // the diff id, hashed beside decompressing (for gzip on its worker thread)
    });
    stats.compression = opened.compression;
    sha256 = opened.sha256;
    reader = new TarReader(opened.stream, { onData: (chunk) => (stats.tarBytes += chunk.length) });
    applier = new LayerApplier(target, helper, reader, opts, stats);
    for (;;) {
      applier.current = ''; // a header that fails to parse is not the previous entry's fault
      const e = await reader.next();
      if (!e) break;
      await applier.entry(e);
    }
    applier.finish();
  } catch (err) {
    throw asLayerError(err, applier?.current || undefined, opts.mediaType);
  } finally {
    await reader?.close();
    await helper.close();
  }
  // the reader has drained the stream to its end (trailing bytes included): the digest is there
  const diffId = `sha256:${sha256!()}`;
  if (opts.expectedDiffId !== undefined && diffId !== opts.expectedDiffId) {
    throw new LayerError(`layer content does not match its diff_id: expected ${opts.expectedDiffId}, got ${diffId}`, undefined, { code: 'data_loss' });
  }
  return { diffId, stats };
}
