// Pulling an image: resolve the reference, store index/manifest/config first,
// then the layers concurrently, then (optionally) unpack and record the image.
// Everything the pull touches is held by a lease so a concurrent GC keeps it.
// A pull that fails on bad content leaves the store as it found it; one that
// fails on a transient error keeps its lease (until it expires) and its
// ingests, so the next attempt resumes instead of starting over.
import {
  isConfigMediaType,
  isLayerMediaType,
  parseImageConfig,
  selectManifest,
  formatPlatform,
  hostPlatform,
  parsePlatform,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type ImageReference,
  type Manifest,
  type Platform,
} from '@berth/oci';
import type { ContentStore } from './content/store.js';
import { ImagesError, invalidArgument, messageOf, statusCodeOf } from './errors.js';
import { emit, type EventSink } from './events.js';
import { removeUnreferenced } from './gc.js';
import type { ImageRecord, ImageStore } from './images.js';
import type { LeaseManager } from './leases.js';
import type { Labels } from './labels.js';
import { mapLimit } from './limit.js';
import { ProgressTracker, type PullProgress } from './progress.js';
import { parseReferenceArg, type RegistryClient } from './registry/client.js';
import { RegistryError } from './registry/errors.js';

export interface PullDeps {
  content: ContentStore;
  images: ImageStore;
  leases: LeaseManager;
  registry: RegistryClient;
}

export interface UnpackRequest {
  ref: ImageReference;
  manifest: Descriptor;
  configDescriptor: Descriptor;
  config: ImageConfig;
  layers: Descriptor[];
  content: ContentStore;
  signal: AbortSignal;
  /** Report a layer as being extracted, then done. */
  onLayer(digest: Digest, state: 'extracting' | 'done'): void;
}

/** Unpacks the pulled layers (the service wires this to the snapshots service). */
export type Unpacker = (req: UnpackRequest) => Promise<void>;

/** What a reference resolved to, reported once before any layer is fetched. */
export interface PullResolution {
  /** The record name the image will get. */
  name: string;
  target: Descriptor;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

export interface PullOptions {
  namespace: string;
  /** "os/arch[/variant]" or a Platform; default: the host's. */
  platform?: string | Platform;
  /** Layers fetched at once (default 3). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: PullProgress) => void;
  /** Called once the manifest and config are stored and verified, before the layers are fetched. */
  onResolved?: (r: PullResolution) => void;
  /** Minimum interval between byte-count progress reports (default 100 ms). */
  progressIntervalMs?: number;
  events?: EventSink;
  /** Record name (default: the canonical reference, e.g. docker.io/library/busybox:latest). */
  name?: string;
  /** Labels for the image record. */
  labels?: Labels;
  unpack?: Unpacker;
  /** Lifetime of the pull's lease, which outlives a failed pull so a retry can reuse its blobs (default 1 h). */
  leaseTtlMs?: number;
}

export interface PullResult {
  /** The record created or updated. */
  image: ImageRecord;
  /** What the reference resolved to (an index or a manifest): the image's target. */
  target: Descriptor;
  /** The platform's manifest. */
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  platform: Platform;
}

/** Image configs with long histories can outgrow the manifest bound; this is the config bound. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Label naming the repository a blob came from, so push can mount it instead of uploading. */
export const SOURCE_LABEL_PREFIX = 'berth.io/distribution.source.';

export async function pull(deps: PullDeps, input: string, opts: PullOptions): Promise<PullResult> {
  const ref = parseReferenceArg(input);
  const refString = ref.string();
  const want = typeof opts.platform === 'string' ? parsePlatformArg(opts.platform) : (opts.platform ?? hostPlatform());
  const progress = new ProgressTracker(refString, opts.onProgress, opts.progressIntervalMs);
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = abort.signal;

  emit(opts.events, { type: 'images.pull.started', namespace: opts.namespace, payload: { ref: refString, platform: want } });
  const leaseTtlMs = opts.leaseTtlMs ?? 3_600_000;
  const lease = deps.leases.create({ ttlMs: leaseTtlMs, labels: { 'berth.io/pull': refString } });
  const committed = new Set<string>();
  let fetchedBytes = 0;
  const protect = (digest: Digest) => {
    deps.leases.renew(lease.id, leaseTtlMs); // a pull longer than the TTL keeps its lease while it makes progress
    deps.leases.addResource(lease.id, { kind: 'content', id: digest });
  };

  /** Stores manifest/index bytes already verified against `desc`. */
  const storeDocument = async (desc: Descriptor, bytes: Buffer) => {
    protect(desc.digest);
    if (!deps.content.has(desc.digest)) {
      await deps.content.writeBytes(`manifest-${desc.digest}`, bytes, { expected: desc.digest });
      committed.add(desc.digest);
      fetchedBytes += bytes.byteLength;
    }
    addSource(deps.content, desc.digest, ref);
  };
  const fetchBlob = async (desc: Descriptor, onBytes?: (n: number) => void) => {
    protect(desc.digest);
    const existed = deps.content.has(desc.digest);
    await deps.registry.fetchBlob(ref, desc, deps.content, {
      signal,
      ...(onBytes ? { onProgress: (n: number) => onBytes(n) } : {}),
    });
    if (!existed) {
      committed.add(desc.digest);
      fetchedBytes += desc.size;
    }
    addSource(deps.content, desc.digest, ref);
    return existed;
  };

  try {
    const resolved = await deps.registry.resolve(ref, { signal });
    const target = resolved.descriptor;
    await storeDocument(target, resolved.bytes);

    // Descend through indexes to the platform's manifest.
    let current = resolved.document;
    let manifestDesc = target;
    for (let depth = 0; current.kind === 'index'; depth++) {
      if (depth >= 4) throw invalidArgument(`${refString}: indexes nested more than 4 deep`);
      let chosen: Descriptor;
      try {
        chosen = selectManifest(current.index, want);
      } catch (err) {
        throw new ImagesError(statusCodeOf(err), `${refString}: ${messageOf(err)}`, { cause: err });
      }
      const fetched = await deps.registry.fetchManifest(ref, chosen, { signal });
      await storeDocument(chosen, fetched.bytes);
      current = fetched.document;
      manifestDesc = { ...chosen, mediaType: fetched.document.mediaType };
    }
    const manifest: Manifest = current.manifest;
    checkManifestMediaTypes(refString, manifestDesc.digest, manifest);

    if (manifest.config.size > MAX_CONFIG_BYTES) {
      throw new ImagesError(
        'RESOURCE_EXHAUSTED',
        `${refString}: image config ${manifest.config.digest} is ${manifest.config.size} bytes, over the limit of ${MAX_CONFIG_BYTES} bytes`,
      );
    }
    await fetchBlob(manifest.config);
    const config = await readConfig(deps.content, manifest.config, refString);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw invalidArgument(
        `${refString}: manifest ${manifestDesc.digest} has ${manifest.layers.length} layers but its config lists ${config.rootfs.diff_ids.length} diff_ids`,
      );
    }

    const name = opts.name ?? refString;
    opts.onResolved?.({ name, target, manifest: manifestDesc, config: manifest.config, layers: manifest.layers });
    progress.setLayers(manifest.layers);
    progress.setPhase('fetching');
    await mapLimit(manifest.layers, opts.concurrency ?? 3, async (layer) => {
      try {
        if (deps.content.has(layer.digest)) {
          await fetchBlob(layer);
          progress.setState(layer.digest, 'exists');
          return;
        }
        progress.setState(layer.digest, 'downloading');
        await fetchBlob(layer, (n) => {
          if (n === layer.size) progress.setState(layer.digest, 'verifying');
          else progress.setBytes(layer.digest, n);
        });
        // With unpacking to come, a fetched layer stays at verifying until the
        // unpacker reports it extracting and then done: done is always last.
        if (!opts.unpack) progress.setState(layer.digest, 'done');
      } catch (err) {
        abort.abort(err); // stop the other downloads: the pull has failed
        throw err;
      }
    });

    if (opts.unpack) {
      progress.setPhase('unpacking');
      await opts.unpack({
        ref,
        manifest: manifestDesc,
        configDescriptor: manifest.config,
        config,
        layers: manifest.layers,
        content: deps.content,
        signal,
        onLayer: (digest, state) => progress.setState(digest, state),
      });
    }

    const image = deps.images.create(
      opts.namespace,
      { name, target, ...(opts.labels ? { labels: opts.labels } : {}) },
      { update: true },
    );
    deps.leases.release(lease.id);
    progress.setPhase('done');
    emit(opts.events, {
      type: 'images.pull.finished',
      namespace: opts.namespace,
      payload: {
        ref: refString,
        name: image.name,
        target,
        manifest: manifestDesc,
        platform: formatPlatform(want),
        fetchedBytes,
        unpacked: opts.unpack !== undefined,
      },
    });
    return {
      image,
      target,
      manifest: manifestDesc,
      config: manifest.config,
      layers: manifest.layers,
      platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
    };
  } catch (caught) {
    const cancelled = opts.signal?.aborted === true;
    const err = cancelled ? opts.signal!.reason : caught;
    if (!cancelled && !isTransient(err)) {
      // Bad content or a definitive refusal: nothing of this pull stays behind.
      deps.leases.release(lease.id);
      removeUnreferenced(deps, committed);
    }
    emit(opts.events, {
      type: 'images.pull.failed',
      namespace: opts.namespace,
      payload: { ref: refString, error: messageOf(err), code: statusCodeOf(err) },
    });
    throw err;
  } finally {
    progress.stop();
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** Transient failures keep the pull's lease and ingests for a retry to resume. */
function isTransient(err: unknown): boolean {
  if (err instanceof RegistryError) return err.retryable;
  const code = statusCodeOf(err);
  return code === 'CANCELLED' || code === 'DEADLINE_EXCEEDED' || code === 'UNAVAILABLE';
}

function parsePlatformArg(spec: string): Platform {
  try {
    return parsePlatform(spec);
  } catch (err) {
    throw new ImagesError(statusCodeOf(err), messageOf(err), { cause: err });
  }
}

/** Refuses artifacts and encrypted/unknown layers before any download. */
function checkManifestMediaTypes(ref: string, digest: Digest, manifest: Manifest): void {
  if (!isConfigMediaType(manifest.config.mediaType)) {
    throw invalidArgument(
      `${ref}: manifest ${digest} has config media type ${JSON.stringify(manifest.config.mediaType)}, which is not an image config (an artifact, not a container image?)`,
    );
  }
  manifest.layers.forEach((layer, i) => {
    if (!isLayerMediaType(layer.mediaType)) {
      throw invalidArgument(
        `${ref}: layer ${i} (${layer.digest}) has unsupported media type ${JSON.stringify(layer.mediaType)}`,
      );
    }
  });
}

async function readConfig(content: ContentStore, desc: Descriptor, ref: string): Promise<ImageConfig> {
  const bytes = await content.readBytes(desc.digest, MAX_CONFIG_BYTES);
  try {
    return parseImageConfig(bytes, { maxBytes: MAX_CONFIG_BYTES });
  } catch (err) {
    throw new ImagesError(statusCodeOf(err), `${ref}: image config ${desc.digest}: ${messageOf(err)}`, { cause: err });
  }
}

/** Appends the source repository to the blob's source label for its registry. */
function addSource(content: ContentStore, digest: Digest, ref: ImageReference): void {
  const key = SOURCE_LABEL_PREFIX + ref.domain;
  const info = content.info(digest);
  const repos = (info.labels[key] ?? '').split(',').filter(Boolean);
  if (repos.includes(ref.path)) return;
  repos.push(ref.path);
  // Label values are bounded; keep the most recent sources.
  let value = repos.join(',');
  while (Buffer.byteLength(key) + Buffer.byteLength(value) > 4096 && repos.length > 1) {
    repos.shift();
    value = repos.join(',');
  }
  content.updateLabels(digest, { [key]: value });
}
