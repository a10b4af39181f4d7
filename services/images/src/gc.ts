// Content garbage collection: mark everything reachable from image records
// (index -> manifests -> config + layers), from unexpired leases and from
// active ingests; sweep every other blob. Mark and sweep run synchronously in
// one turn of the event loop, so no commit or lease change of this process
// can interleave: whatever a pull has leased or committed is either seen by
// the mark or happens after the sweep.
import { MAX_MANIFEST_BYTES, parseManifestOrIndex, type Descriptor, type Digest } from '@berth/oci';
import type { ContentStore } from './content/store.js';
import { emit, type EventSink } from './events.js';
import type { ImageStore } from './images.js';
import type { LeaseManager } from './leases.js';
import { childrenOfDocument, hasChildren, parseStoredDocument } from './walk.js';

export interface GcDeps {
  content: ContentStore;
  images: ImageStore;
  leases: LeaseManager;
}

export interface GcResult {
  removed: { digest: Digest; size: number }[];
  /** Bytes freed. */
  bytes: number;
  /** Leases dropped because they expired. */
  expiredLeases: string[];
}

/** Everything reachable from image targets, leases and ingests (synchronous). */
export function markReachable(deps: GcDeps): Set<string> {
  const marked = new Set<string>();
  const stack: { digest: Digest; mediaType?: string }[] = [];
  for (const t of deps.images.allTargets()) stack.push(t);
  for (const d of deps.leases.leasedContent()) stack.push({ digest: d });
  for (const d of deps.content.ingestingDigestsSync()) stack.push({ digest: d as Digest });
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (marked.has(node.digest)) continue;
    marked.add(node.digest);
    if (!deps.content.has(node.digest)) continue;
    for (const child of childrenSync(deps.content, node)) stack.push(child);
  }
  return marked;
}

function childrenSync(content: ContentStore, node: { digest: Digest; mediaType?: string }): Descriptor[] {
  if (node.mediaType !== undefined) {
    if (!hasChildren(node.mediaType)) return [];
    // A stored manifest that cannot be parsed aborts the GC rather than orphaning what it refers to.
    return childrenOfDocument(parseStoredDocument(node.digest, node.mediaType, content.readBytesSync(node.digest)));
  }
  // Leased content comes without a media type: look inside small JSON blobs.
  const info = content.info(node.digest);
  if (info.size > MAX_MANIFEST_BYTES) return [];
  const bytes = content.readBytesSync(node.digest);
  if (bytes[0] !== 0x7b /* { */) return [];
  try {
    return childrenOfDocument(parseManifestOrIndex(bytes));
  } catch {
    return []; // a config or other JSON: no children
  }
}

/** Runs a collection; with dryRun only reports what would go. */
export function collectGarbage(deps: GcDeps, opts: { dryRun?: boolean; events?: EventSink } = {}): GcResult {
  const expiredLeases = opts.dryRun ? [] : deps.leases.expire();
  const marked = markReachable(deps);
  const removed: GcResult['removed'] = [];
  let bytes = 0;
  for (const digest of deps.content.allDigests()) {
    if (marked.has(digest)) continue;
    const { size } = deps.content.info(digest);
    if (!opts.dryRun) deps.content.deleteSync(digest);
    removed.push({ digest, size });
    bytes += size;
  }
  if (!opts.dryRun) {
    emit(opts.events, { type: 'content.gc.finished', payload: { removed: removed.length, bytes, expiredLeases } });
  }
  return { removed, bytes, expiredLeases };
}

/**
 * Removes `candidates` that nothing references any more (a failed pull's own
 * blobs after its lease is gone), leaving everything else alone.
 */
export function removeUnreferenced(deps: GcDeps, candidates: Iterable<string>): Digest[] {
  const marked = markReachable(deps);
  const removed: Digest[] = [];
  for (const digest of candidates) {
    if (marked.has(digest) || !deps.content.has(digest as Digest)) continue;
    deps.content.deleteSync(digest as Digest);
    removed.push(digest as Digest);
  }
  return removed;
}
