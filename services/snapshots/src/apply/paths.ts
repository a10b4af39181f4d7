import { LayerError } from '../errors.js';

export const MAX_COMPONENT_BYTES = 255;
export const MAX_PATH_BYTES = 4096;

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

/** Whether s can be over `bytes` in UTF-8 (each UTF-16 unit is at most 3 bytes): only then is it worth measuring. */
const mayExceed = (s: string, bytes: number) => s.length * 3 > bytes;

/**
 * A tar member name as components relative to the layer root.
 * OCI: names are relative to the root, so a leading '/' is dropped; '.' and
 * empty components are dropped. Refused: NUL bytes, '..' components (no
 * layer writer produces them; lexical cleaning would disagree with symlink
 * semantics), components over 255 bytes, paths over 4096 bytes.
 */
export function memberComponents(name: string, what = 'entry'): string[] {
  const shown = JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
  if (name.includes('\0')) throw new LayerError(`${what} name ${shown} contains a NUL byte`, name);
  if (mayExceed(name, MAX_PATH_BYTES) && Buffer.byteLength(name) > MAX_PATH_BYTES) {
    throw new LayerError(`${what} name ${shown} is longer than ${MAX_PATH_BYTES} bytes`, name);
  }
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw new LayerError(`${what} name ${shown} has a '..' component; layer paths must stay inside the root`, name);
    if (mayExceed(c, MAX_COMPONENT_BYTES) && Buffer.byteLength(c) > MAX_COMPONENT_BYTES) {
      throw new LayerError(`${what} name ${shown} has a component longer than ${MAX_COMPONENT_BYTES} bytes`, name);
    }
    out.push(c);
  }
  return out;
}

export type WhiteoutKind = { kind: 'none' } | { kind: 'opaque' } | { kind: 'meta' } | { kind: 'whiteout'; name: string };

/** Classifies a member's last component: plain, `.wh.NAME`, the opaque marker, or other aufs metadata (ignored). */
export function whiteoutOf(base: string, fullName: string): WhiteoutKind {
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  if (base === WHITEOUT_OPAQUE) return { kind: 'opaque' };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: 'meta' };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..') {
    throw new LayerError(`whiteout ${JSON.stringify(fullName)} names ${JSON.stringify(name)}, which is not a file`, fullName);
  }
  return { kind: 'whiteout', name };
}

export const joinRel = (comps: readonly string[]): string => comps.join('/');

/** The directory holding rel ('' for the root). */
export function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}
