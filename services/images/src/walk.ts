// The image graph: an index points at manifests (or indexes), a manifest at
// its config and layers. Used by the GC (mark), export and push.
import {
  isIndexMediaType,
  isManifestMediaType,
  parseManifestOrIndex,
  type Descriptor,
  type Digest,
  type ManifestOrIndex,
} from '@berth/oci';
import type { ContentStore } from './content/store.js';
import { ImagesError, messageOf } from './errors.js';

/** The descriptors a parsed manifest or index refers to. */
export function childrenOfDocument(doc: ManifestOrIndex): Descriptor[] {
  return doc.kind === 'index' ? doc.index.manifests : [doc.manifest.config, ...doc.manifest.layers];
}

/** True for media types whose content refers to other content. */
export function hasChildren(mediaType: string): boolean {
  return isIndexMediaType(mediaType) || isManifestMediaType(mediaType);
}

/** Parses stored manifest/index bytes, naming the digest when they are not what they claim. */
export function parseStoredDocument(digest: Digest, mediaType: string | undefined, bytes: Buffer): ManifestOrIndex {
  try {
    return parseManifestOrIndex(bytes, mediaType);
  } catch (err) {
    throw new ImagesError('DATA_LOSS', `stored ${mediaType ?? 'document'} ${digest} cannot be parsed: ${messageOf(err)}`, { cause: err });
  }
}

export interface WalkEntry {
  descriptor: Descriptor;
  /** The parsed document, for manifests and indexes. */
  document?: ManifestOrIndex;
  /** Raw bytes, for manifests and indexes. */
  bytes?: Buffer;
  /** Whether the blob is in the local store. */
  present: boolean;
}

/**
 * Visits `root` and everything below it that is in the store, parents before
 * children, each digest once. Absent children (e.g. other platforms of an
 * index) are visited with present=false and not descended into. `include`
 * can leave children out (e.g. the other platforms of an index) entirely.
 */
export async function walkImage(
  store: ContentStore,
  root: Descriptor,
  visit: (e: WalkEntry) => void | Promise<void>,
  include: (child: Descriptor, parent: WalkEntry) => boolean = () => true,
): Promise<void> {
  const seen = new Set<string>();
  const go = async (desc: Descriptor): Promise<void> => {
    if (seen.has(desc.digest)) return;
    seen.add(desc.digest);
    const present = store.has(desc.digest);
    if (!present || !hasChildren(desc.mediaType)) {
      await visit({ descriptor: desc, present });
      return;
    }
    const bytes = await store.readBytes(desc.digest);
    const document = parseStoredDocument(desc.digest, desc.mediaType, bytes);
    const entry: WalkEntry = { descriptor: desc, document, bytes, present };
    await visit(entry);
    for (const child of childrenOfDocument(document)) if (include(child, entry)) await go(child);
  };
  await go(root);
}
