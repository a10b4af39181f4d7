// Pushing an image: every blob below the target (HEAD first, cross-repository
// mount when the blob came from another repository of the same registry,
// else upload), child manifests by digest, then the target under the tag.
// Manifests are sent as their stored bytes, so the pushed digest is the local one.
import { withTag, type Descriptor, type Digest, type ImageReference, type Platform } from '@berth/oci';
import type { ContentStore } from './content/store.js';
import { failedPrecondition } from './errors.js';
import { emit, type EventSink } from './events.js';
import type { ImageStore } from './images.js';
import { mapLimit } from './limit.js';
import { SOURCE_LABEL_PREFIX } from './pull.js';
import { parseReferenceArg, type PushBlobResult, type RegistryClient } from './registry/client.js';
import { resolveImage } from './resolve.js';
import { walkImage, type WalkEntry } from './walk.js';

export interface PushDeps {
  content: ContentStore;
  images: ImageStore;
  registry: RegistryClient;
}

export interface PushOptions {
  namespace: string;
  /** Blobs uploaded at once (default 3). */
  concurrency?: number;
  /** Upload blobs larger than this in PATCH chunks of this size (default: monolithic). */
  chunkSize?: number;
  signal?: AbortSignal;
  events?: EventSink;
  /** Called once per blob with what happened to it. */
  onBlob?: (desc: Descriptor, result: PushBlobResult) => void;
  /** Push only this platform's manifest instead of the target as stored (index included). */
  platform?: Platform;
}

export interface PushResult {
  ref: string;
  target: Descriptor;
  /** What happened to each blob (config and layers). */
  blobs: { digest: Digest; result: PushBlobResult }[];
}

/** Pushes image `name` of `namespace` to `destination` (default tag "latest"; a digest-only reference pushes by digest). */
export async function push(deps: PushDeps, name: string, destination: string, opts: PushOptions): Promise<PushResult> {
  const image = deps.images.get(opts.namespace, name);
  const dest = parseReferenceArg(destination);
  const root = opts.platform
    ? withoutPlatform((await resolveImage(deps.content, name, image.target, opts.platform, { strict: true })).manifestDescriptor)
    : image.target;
  if (dest.digest !== undefined && dest.digest !== root.digest) {
    throw failedPrecondition(`cannot push ${name} (${root.digest}) as ${dest.string()}: the digests differ`);
  }

  const entries: WalkEntry[] = [];
  await walkImage(deps.content, root, (e) => {
    entries.push(e);
  });
  const missing = entries.filter((e) => !e.present);
  if (missing.length > 0) {
    const list = missing
      .map((e) => `${e.descriptor.digest}${e.descriptor.platform ? ` (${e.descriptor.platform.os}/${e.descriptor.platform.architecture})` : ''}`)
      .join(', ');
    throw failedPrecondition(
      `cannot push ${name}: ${missing.length} blob(s) it refers to are not in the local store: ${list} (pull all platforms first, or push a single-platform image)`,
    );
  }

  const blobs = entries.filter((e) => e.document === undefined);
  const results: PushResult['blobs'] = [];
  await mapLimit(blobs, opts.concurrency ?? 3, async (e) => {
    const desc = e.descriptor;
    const mountFrom = (deps.content.info(desc.digest).labels[SOURCE_LABEL_PREFIX + dest.domain] ?? '')
      .split(',')
      .filter((repo) => repo !== '' && repo !== dest.path);
    const result = await deps.registry.pushBlob(dest, desc, () => deps.content.readStream(desc.digest), {
      mountFrom,
      ...(opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    results.push({ digest: desc.digest, result });
    opts.onBlob?.(desc, result);
  });

  // Children before parents: a registry checks that what a manifest refers to exists.
  const documents = entries.filter((e) => e.document !== undefined).reverse();
  for (const e of documents) {
    const isRoot = e.descriptor.digest === root.digest;
    const reference = isRoot && dest.tag !== undefined ? dest.tag : e.descriptor.digest;
    await deps.registry.pushManifest(dest, reference, e.descriptor.mediaType, e.bytes!, opts.signal ? { signal: opts.signal } : {});
  }

  const refString = (dest.tag !== undefined ? withTag(dest, dest.tag) : dest).string();
  emit(opts.events, { type: 'images.push.finished', namespace: opts.namespace, payload: { name, ref: refString, target: root } });
  return { ref: refString, target: root, blobs: results };
}

/** An index entry as a plain descriptor (the platform belongs to the index, not to the pushed manifest). */
function withoutPlatform(desc: Descriptor): Descriptor {
  const { platform: _platform, ...rest } = desc;
  return rest;
}

export type { ImageReference };
