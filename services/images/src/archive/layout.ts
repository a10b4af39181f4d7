// Names and annotations of the two archive formats.
import { parseDigest, parseReference, type Digest, type ImageReference } from '@berth/oci';
import { invalidArgument } from '../errors.js';
import { posix } from 'node:path';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_INDEX_FILE = 'index.json';
export const DOCKER_MANIFEST_FILE = 'manifest.json';
export const DOCKER_REPOSITORIES_FILE = 'repositories';
export const OCI_LAYOUT_VERSION = '1.0.0';

/** OCI annotation: the tag (or full reference) of an index.json entry. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
/** containerd's annotation: the full image name of an index.json entry. */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';

/** One entry of a docker-archive manifest.json. */
export interface DockerArchiveEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
  LayerSources?: unknown;
}

export function blobEntryName(digest: Digest): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

/** The digest a "blobs/<alg>/<hex>" path names, or undefined for other paths. */
export function digestOfBlobEntry(path: string): Digest | undefined {
  const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(path);
  if (!m) return undefined;
  try {
    return parseDigest(`${m[1]}:${m[2]}`).digest;
  } catch {
    return undefined;
  }
}

/**
 * An archive member's path, normalised and checked to stay inside the
 * archive root: no absolute paths, no ".." escaping, no NUL.
 */
export function safeEntryPath(name: string): string {
  if (name.includes('\0')) throw invalidArgument(`archive entry ${JSON.stringify(name)} contains a NUL byte`);
  if (name.startsWith('/')) throw invalidArgument(`archive entry ${JSON.stringify(name)} is an absolute path`);
  const normal = posix.normalize(name).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../')) {
    throw invalidArgument(`archive entry ${JSON.stringify(name)} escapes the archive root`);
  }
  return normal === '.' ? '' : normal;
}

/** Where a symlink entry points, resolved against its directory, checked to stay inside the root. */
export function safeLinkTarget(entry: string, target: string, kind: 'symlink' | 'hardlink'): string {
  if (target.startsWith('/')) {
    throw invalidArgument(`archive ${kind} ${JSON.stringify(entry)} points to the absolute path ${JSON.stringify(target)}`);
  }
  const joined = kind === 'symlink' ? posix.join(posix.dirname(entry), target) : posix.normalize(target);
  if (joined === '..' || joined.startsWith('../')) {
    throw invalidArgument(`archive ${kind} ${JSON.stringify(entry)} points outside the archive (${JSON.stringify(target)})`);
  }
  return joined;
}

/** Parses an image name as a reference, or undefined when it is not one (e.g. a digest-named import). */
export function referenceOrUndefined(name: string): ImageReference | undefined {
  try {
    return parseReference(name, { defaultTag: false });
  } catch {
    return undefined;
  }
}
