import { chmodSync, lchownSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, type Stats } from 'node:fs';
import { LayerError, isErrno } from '../errors.js';
import type { ApplyTarget } from '../drivers/driver.js';
import type { FsHelper } from '../fsops/helper.js';
import { joinRel, parentOf } from './paths.js';

export const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Who owns what this process creates (unless a setgid directory gives the group). */
const CREATOR = { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 };

/** Overlay keeps its own state in these; a layer must never set them. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

export function isWhiteoutStat(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export function lstatOrNull(path: string): Stats | null {
  try {
    // throwIfNoEntry: an absent name is the common case, and a thrown error costs more than the syscall
    return lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch (err) {
    if (isErrno(err, 'ENOTDIR')) return null;
    throw err;
  }
}

const S_ISGID = 0o2000;


type LowerNode = { kind: 'absent' } | { kind: 'entry'; layer: number; st: Stats; dirLayers: number[] };
const ABSENT: LowerNode = { kind: 'absent' };

/** The merged view's entry at a path: in the writable root, in a lower layer, or nowhere. */
export type Node =
  | { where: 'upper'; rel: string; st: Stats }
  | { where: 'lower'; rel: string; st: Stats; layer: number }
  | { where: 'none'; rel: string };

/**
 * The merged view a layer is applied against, resolved in userspace.
 *
 * Writes go to `root` (overlay upperdir or native tree); lookups see what a
 * container would see — overlay's rules over root + lowers: an upper entry
 * hides lower ones, a 0:0 char device hides a name, an opaque dir hides
 * everything below it in lower layers, a lower non-dir or whiteout stops the
 * merge of the layers under it.
 *
 * Safety: every path handed to a syscall is root + components that were each
 * checked with lstat to be a real directory of the merged view (a symlink in
 * a parent position is refused, wherever it came from, including a lower
 * layer), and the final component is created with O_EXCL|O_NOFOLLOW or an
 * l*-syscall, so no write follows a symlink. Nothing else writes into an
 * in-flight snapshot, so the checks cannot be raced.
 *
 * Fresh directories: one this apply made in root (or root itself, found
 * empty) holds only what this apply has made in it since. A name in it that
 * this apply did not make cannot exist, so `upperStat` answers "absent"
 * without an lstat — for a layer unpacked into a new snapshot, that is every
 * entry. Only that existence check is skipped: parents are still resolved
 * and verified as above, and creation still uses O_EXCL / mkdir / l*-calls,
 * which fail rather than follow or replace anything unexpected.
 */
export class MergedTree {
  readonly root: string;
  readonly lowers: readonly string[];
  readonly overlay: boolean;
  /** Paths this layer wrote (entries and the parent dirs made for them): whiteouts never hide them. */
  readonly written = new Set<string>();
  /** Directory times to set once all content is in (creating children changes them). */
  readonly deferredTimes: { rel: string; atime: number; mtime: number }[] = [];

  private readonly upperDirs = new Set<string>(['']);
  private readonly upperOpaque = new Map<string, boolean>();
  private readonly lowerMemo = new Map<string, Promise<LowerNode>>();
  /** Directories of root that were empty when this apply made (or found) them. */
  private readonly fresh = new Set<string>();
  /** Names this apply made in root (kept after a removal: at worst an lstat too many). */
  private readonly made = new Set<string>();
  /** Whether a directory of root has the setgid bit (new entries in it take its group), where this apply knows. */
  private readonly setgid = new Map<string, boolean>();

  constructor(
    target: ApplyTarget,
    private readonly helper: FsHelper,
    private readonly entryName: () => string,
  ) {
    this.root = target.root;
    this.lowers = target.lowers;
    this.overlay = target.overlay;
    if (readdirSync(this.root).length === 0) this.fresh.add('');
    this.setgid.set('', (lstatSync(this.root).mode & S_ISGID) !== 0);
  }

  /** root/rel's lstat; null without a syscall where rel cannot exist yet (see Fresh directories). */
  upperStat(rel: string): Stats | null {
    if (rel !== '' && this.fresh.has(parentOf(rel)) && !this.made.has(rel)) return null;
    return lstatOrNull(this.abs(rel));
  }

  /** Records that this apply made rel in root (any type). */
  madeEntry(rel: string): void {
    this.made.add(rel);
  }

  /** Records a directory this apply just made (empty) in root. */
  madeDir(rel: string): void {
    this.made.add(rel);
    this.fresh.add(rel);
    this.noteDir(rel, false);
    this.setgid.delete(rel); // until its mode is known
  }

  /** Records the mode a directory of root now has (its setgid bit decides the group of new entries in it). */
  noteDirMode(rel: string, mode: number): void {
    this.setgid.set(rel, (mode & S_ISGID) !== 0);
  }

  /**
   * Whether something just created in the directory `parent` already has
   * owner uid:gid, so a chown would change nothing: this process creates as
   * its effective uid/gid, or with the directory's group when it is setgid.
   */
  createdWithOwner(parent: string, uid: number, gid: number): boolean {
    const groupFromParent = this.setgid.get(parent);
    return groupFromParent === false && uid === CREATOR.uid && gid === CREATOR.gid;
  }

  /** Whether rel is a directory of root this apply verified or made (and has not removed since). */
  isUpperDir(rel: string): boolean {
    return this.upperDirs.has(rel);
  }

  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  lowerAbs(layer: number, rel: string): string {
    return rel === '' ? this.lowers[layer]! : `${this.lowers[layer]}/${rel}`;
  }

  private refuse(message: string): never {
    const name = this.entryName();
    throw new LayerError(`entry ${JSON.stringify(name)}: ${message}`, name);
  }

  private isUpperWhiteout(st: Stats): boolean {
    return this.overlay && isWhiteoutStat(st);
  }

  async upperIsOpaque(rel: string): Promise<boolean> {
    if (!this.overlay) return false;
    const known = this.upperOpaque.get(rel);
    if (known !== undefined) return known;
    const v = await this.helper.getXattr(this.abs(rel), OPAQUE_XATTR);
    const opaque = v?.toString() === 'y';
    this.upperOpaque.set(rel, opaque);
    return opaque;
  }

  async setOpaque(rel: string): Promise<void> {
    await this.helper.setXattr(this.abs(rel), OPAQUE_XATTR, Buffer.from('y'));
    this.upperOpaque.set(rel, true);
  }

  /** Lower layers' merged entry at comps (lowers are immutable: memoized). */
  private lowerNode(comps: readonly string[]): Promise<LowerNode> {
    const rel = joinRel(comps);
    let p = this.lowerMemo.get(rel);
    if (!p) {
      p = this.computeLowerNode(comps, rel);
      this.lowerMemo.set(rel, p);
    }
    return p;
  }

  private async computeLowerNode(comps: readonly string[], rel: string): Promise<LowerNode> {
    if (this.lowers.length === 0) return ABSENT;
    if (comps.length === 0) {
      return { kind: 'entry', layer: 0, st: lstatSync(this.lowers[0]!), dirLayers: this.lowers.map((_, i) => i) };
    }
    const parent = await this.lowerNode(comps.slice(0, -1));
    if (parent.kind === 'absent' || !parent.st.isDirectory()) return ABSENT;
    let found: { layer: number; st: Stats } | undefined;
    const dirLayers: number[] = [];
    for (const layer of parent.dirLayers) {
      const st = lstatOrNull(this.lowerAbs(layer, rel));
      if (!st) continue;
      if (this.overlay && isWhiteoutStat(st)) {
        if (!found) return ABSENT;
        break;
      }
      if (!found) {
        found = { layer, st };
        if (!st.isDirectory()) break;
      } else if (!st.isDirectory()) break;
      dirLayers.push(layer);
      const opaque = this.overlay && (await this.helper.getXattr(this.lowerAbs(layer, rel), OPAQUE_XATTR))?.toString() === 'y';
      if (opaque) break;
    }
    return found ? { kind: 'entry', layer: found.layer, st: found.st, dirLayers } : ABSENT;
  }

  /** Whether lower layers show through below the directory at comps (no opaque upper dir on the way). */
  async lowersVisible(comps: readonly string[]): Promise<boolean> {
    if (this.lowers.length === 0) return false;
    for (let i = 0; i <= comps.length; i++) {
      const rel = joinRel(comps.slice(0, i));
      if (!this.upperDirs.has(rel)) {
        const st = this.upperStat(rel);
        if (!st) return true; // absent in upper from here down: lowers decide
        if (!st.isDirectory()) return false;
        this.upperDirs.add(rel);
      }
      if (await this.upperIsOpaque(rel)) return false;
    }
    return true;
  }

  /**
   * Resolves comps as a directory of the merged view. With `create`, makes
   * the missing ones in root: copies of the lower dir's metadata where a
   * lower layer has it (so the merged view is unchanged), else 0755 root:root.
   * Returns false (without create) when a component does not exist.
   */
  async resolveDir(comps: readonly string[], create: boolean): Promise<boolean> {
    if (this.upperDirs.has(joinRel(comps))) return true;
    for (let i = 1; i <= comps.length; i++) {
      const prefix = comps.slice(0, i);
      const rel = joinRel(prefix);
      if (this.upperDirs.has(rel)) continue;
      const st = this.upperStat(rel);
      const upperWhiteout = st !== null && this.isUpperWhiteout(st);
      if (st && !upperWhiteout) {
        if (st.isDirectory()) {
          this.upperDirs.add(rel);
          continue;
        }
        if (st.isSymbolicLink()) this.refuseSymlink(rel, readlinkSync(this.abs(rel)));
        this.refuse(`${JSON.stringify(rel)} is not a directory`);
      }
      const lower = !upperWhiteout && (await this.lowersVisible(prefix.slice(0, -1))) ? await this.lowerNode(prefix) : ABSENT;
      if (lower.kind === 'entry') {
        if (lower.st.isSymbolicLink()) this.refuseSymlink(rel, readlinkSync(this.lowerAbs(lower.layer, rel)));
        if (!lower.st.isDirectory()) this.refuse(`${JSON.stringify(rel)} is not a directory`);
        if (create) await this.copyUpDir(rel, lower.layer, lower.st);
        continue;
      }
      if (!create) return false;
      if (upperWhiteout) rmSync(this.abs(rel));
      mkdirSync(this.abs(rel), 0o755);
      this.madeDir(rel);
      // mkdir gives a new directory the setgid bit of its parent
      const parentSetgid = this.setgid.get(joinRel(prefix.slice(0, -1)));
      if (parentSetgid !== undefined) this.setgid.set(rel, parentSetgid);
      this.written.add(rel);
      // A directory made where this layer whited a lower one out must keep hiding it.
      if (upperWhiteout) await this.setOpaque(rel);
    }
    return true;
  }

  private refuseSymlink(rel: string, target: string): never {
    this.refuse(`parent ${JSON.stringify(rel)} is a symlink (to ${JSON.stringify(target)}); layers may not write through symlinks`);
  }

  private async copyUpDir(rel: string, layer: number, st: Stats): Promise<void> {
    const path = this.abs(rel);
    mkdirSync(path, 0o700);
    lchownSync(path, st.uid, st.gid);
    chmodSync(path, st.mode & 0o7777);
    for (const [name, value] of await this.helper.listXattrs(this.lowerAbs(layer, rel))) {
      if (!isOverlayXattr(name)) await this.helper.setXattr(path, name, value);
    }
    this.deferredTimes.push({ rel, atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 });
    this.madeDir(rel);
    this.noteDirMode(rel, st.mode);
    this.written.add(rel);
  }

  /** The merged view's entry `name` inside the (resolved) directory parent. */
  async node(parent: readonly string[], name: string): Promise<Node> {
    const rel = joinRel([...parent, name]);
    const st = this.upperStat(rel);
    if (st && !this.isUpperWhiteout(st)) return { where: 'upper', rel, st };
    if (st || !(await this.lowersVisible(parent))) return { where: 'none', rel };
    const lower = await this.lowerNode([...parent, name]);
    return lower.kind === 'entry' ? { where: 'lower', rel, st: lower.st, layer: lower.layer } : { where: 'none', rel };
  }

  /** Names the lower layers show inside a directory (for an opaque layer root). */
  async lowerNames(comps: readonly string[]): Promise<string[]> {
    const dir = await this.lowerNode(comps);
    if (dir.kind === 'absent' || !dir.st.isDirectory()) return [];
    const names = new Set<string>();
    for (const layer of dir.dirLayers) for (const n of readdirSync(this.lowerAbs(layer, joinRel(comps)))) names.add(n);
    return [...names];
  }

  /** Removes an entry from root (recursively, never following symlinks) and forgets what was known below it. */
  removeUpper(rel: string): void {
    rmSync(this.abs(rel), { recursive: true, force: true });
    const under = `${rel}/`;
    for (const d of this.upperDirs) if (d === rel || d.startsWith(under)) this.upperDirs.delete(d);
    for (const d of this.upperOpaque.keys()) if (d === rel || d.startsWith(under)) this.upperOpaque.delete(d);
    for (const d of this.fresh) if (d === rel || d.startsWith(under)) this.fresh.delete(d);
    for (const d of this.setgid.keys()) if (d === rel || d.startsWith(under)) this.setgid.delete(d);
  }

  noteDir(rel: string, opaque: boolean): void {
    this.upperDirs.add(rel);
    this.upperOpaque.set(rel, opaque);
  }
}
