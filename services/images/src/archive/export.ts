// Export of image records to a tar stream, as an OCI image layout (what
// `skopeo copy oci-archive:` and `ctr export` write) or a docker-archive
// (`docker save`'s manifest.json format, with uncompressed layer tars whose
// sha256 is the config's diff_id). Output is reproducible: fixed order, mtime 0.
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import {
  Digester,
  MediaType,
  formatPlatform,
  hostPlatform,
  parseImageConfig,
  parsePlatform,
  parseDigest,
  platformMatches,
  selectManifest,
  type Descriptor,
  type Digest,
  type Index,
  type Platform,
} from '@berth/oci';
import { TarWriter, decompress, detectCompression, type EntryOptions } from '@berth/tar';
import type { ContentStore } from '../content/store.js';
import { ImagesError, dataLoss, failedPrecondition, invalidArgument, messageOf, statusCodeOf } from '../errors.js';
import type { ImageRecord, ImageStore } from '../images.js';
import type { LeaseManager } from '../leases.js';
import { walkImage, type WalkEntry } from '../walk.js';
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  DOCKER_MANIFEST_FILE,
  OCI_INDEX_FILE,
  OCI_LAYOUT_FILE,
  OCI_LAYOUT_VERSION,
  blobEntryName,
  referenceOrUndefined,
  type DockerArchiveEntry,
} from './layout.js';

/** Archive members are content: read-only, mtime 0 (reproducible output). */
const MEMBER: EntryOptions = { mode: 0o444, mtime: 0 };

export type ArchiveFormat = 'oci' | 'docker';

export interface ExportDeps {
  content: ContentStore;
  images: ImageStore;
  leases: LeaseManager;
}

export interface ExportOptions {
  namespace: string;
  format: ArchiveFormat;
  /** docker-archive only: the platform to export from a multi-platform image (default: the host's). */
  platform?: string | Platform;
  /**
   * OCI only: the platforms of multi-platform images to include (default:
   * every platform present locally). The index is kept as it is, so the
   * image keeps its digest; the manifests of other platforms are left out.
   */
  platforms?: Platform[];
  signal?: AbortSignal;
}

export interface ExportResult {
  images: { name: string; target: Descriptor }[];
  /** Tar bytes written. */
  bytes: number;
}

/**
 * Writes the named images (of opts.namespace) as one archive to `out` (not
 * ended: the caller closes it). Content is leased for the duration so a
 * concurrent GC cannot pull blobs from under the export.
 */
export async function exportImages(
  deps: ExportDeps,
  names: readonly string[],
  out: Writable,
  opts: ExportOptions,
): Promise<ExportResult> {
  if (names.length === 0) throw invalidArgument('export: no images named');
  const records = names.map((n) => deps.images.get(opts.namespace, n));
  const lease = deps.leases.create({ ttlMs: 3_600_000, labels: { 'berth.io/export': names.join(',').slice(0, 1000) } });
  try {
    for (const r of records) deps.leases.addResource(lease.id, { kind: 'content', id: r.target.digest });
    const tar = new TarWriter(out);
    if (opts.format === 'oci') await writeOciLayout(deps, records, tar, lease.id, opts.platforms ?? [], opts.signal);
    else await writeDockerArchive(deps, records, tar, lease.id, opts);
    await tar.finish();
    return { images: records.map((r) => ({ name: r.name, target: r.target })), bytes: tar.bytes };
  } finally {
    deps.leases.release(lease.id);
  }
}

async function collect(deps: ExportDeps, root: Descriptor, leaseId: string, platforms: Platform[] = []): Promise<WalkEntry[]> {
  const entries: WalkEntry[] = [];
  const wanted = (child: Descriptor, parent: WalkEntry) =>
    platforms.length === 0 ||
    parent.document?.kind !== 'index' ||
    child.platform === undefined ||
    platforms.some((p) => platformMatches(p, child.platform!));
  await walkImage(
    deps.content,
    root,
    (e) => {
      if (e.present) deps.leases.addResource(leaseId, { kind: 'content', id: e.descriptor.digest });
      entries.push(e);
    },
    wanted,
  );
  if (!entries[0]?.present) throw failedPrecondition(`image content ${root.digest} is not in the local store`);
  if (platforms.length > 0 && entries[0].document?.kind === 'index' && !entries.some((e) => e.present && e.document?.kind === 'manifest')) {
    throw failedPrecondition(
      `image content ${root.digest} has no manifest for ${platforms.map(formatPlatform).join(', ')} in the local store`,
    );
  }
  for (const e of entries) {
    if (e.document?.kind === 'manifest') {
      const missing = childrenMissing(entries, e);
      if (missing.length > 0) {
        throw failedPrecondition(`manifest ${e.descriptor.digest} refers to blobs missing from the local store: ${missing.join(', ')}`);
      }
    }
  }
  return entries;
}

function childrenMissing(entries: WalkEntry[], manifestEntry: WalkEntry): string[] {
  if (manifestEntry.document?.kind !== 'manifest') return [];
  const m = manifestEntry.document.manifest;
  const present = new Set(entries.filter((e) => e.present).map((e) => e.descriptor.digest));
  return [m.config, ...m.layers].filter((d) => !present.has(d.digest)).map((d) => d.digest);
}

async function writeOciLayout(
  deps: ExportDeps,
  records: ImageRecord[],
  tar: TarWriter,
  leaseId: string,
  platforms: Platform[],
  signal: AbortSignal | undefined,
): Promise<void> {
  await tar.addFile(OCI_LAYOUT_FILE, Buffer.byteLength(layoutJson()), Buffer.from(layoutJson()), MEMBER);
  const written = new Set<string>();
  const index: Index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
  for (const record of records) {
    const entries = await collect(deps, record.target, leaseId, platforms);
    for (const e of entries) {
      if (!e.present || written.has(e.descriptor.digest)) continue;
      signal?.throwIfAborted();
      written.add(e.descriptor.digest);
      const info = deps.content.info(e.descriptor.digest);
      await tar.addFile(blobEntryName(e.descriptor.digest), info.size, deps.content.readStream(e.descriptor.digest), MEMBER);
    }
    index.manifests.push({ ...record.target, annotations: { ...record.target.annotations, ...nameAnnotations(record.name) } });
  }
  const indexBytes = Buffer.from(JSON.stringify(index));
  await tar.addFile(OCI_INDEX_FILE, indexBytes.byteLength, indexBytes, MEMBER);
}

function layoutJson(): string {
  return JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION });
}

/** containerd's pair: the full name, and the tag as the OCI ref.name. */
function nameAnnotations(name: string): Record<string, string> {
  const ref = referenceOrUndefined(name);
  const out: Record<string, string> = { [ANNOTATION_IMAGE_NAME]: name };
  if (ref?.tag !== undefined) out[ANNOTATION_REF_NAME] = ref.tag;
  return out;
}

async function writeDockerArchive(
  deps: ExportDeps,
  records: ImageRecord[],
  tar: TarWriter,
  leaseId: string,
  opts: ExportOptions,
): Promise<void> {
  const want = typeof opts.platform === 'string' ? parsePlatformArg(opts.platform) : (opts.platform ?? hostPlatform());
  const manifestJson: DockerArchiveEntry[] = [];
  const written = new Set<string>();
  for (const record of records) {
    const entries = await collect(deps, record.target, leaseId);
    const manifestEntry = pickManifest(entries, record, want);
    if (manifestEntry.document?.kind !== 'manifest') throw new Error('unreachable: not a manifest');
    const manifest = manifestEntry.document.manifest;
    const configBytes = await deps.content.readBytes(manifest.config.digest);
    let config;
    try {
      config = parseImageConfig(configBytes, { maxBytes: 16 * 1024 * 1024 });
    } catch (err) {
      throw new ImagesError(statusCodeOf(err), `image ${record.name}: config ${manifest.config.digest}: ${messageOf(err)}`, { cause: err });
    }
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw invalidArgument(
        `image ${record.name}: ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids in the config`,
      );
    }
    const configName = `${parseDigest(manifest.config.digest).hex}.json`;
    if (!written.has(configName)) {
      written.add(configName);
      await tar.addFile(configName, configBytes.byteLength, configBytes, MEMBER);
    }
    const layerNames: string[] = [];
    for (const [i, layer] of manifest.layers.entries()) {
      opts.signal?.throwIfAborted();
      const diffId = config.rootfs.diff_ids[i]!;
      const layerName = `${parseDigest(diffId).hex}.tar`;
      layerNames.push(layerName);
      if (written.has(layerName)) continue;
      written.add(layerName);
      await writeUncompressedLayer(deps.content, tar, layer, diffId, layerName);
    }
    const ref = referenceOrUndefined(record.name);
    manifestJson.push({
      Config: configName,
      RepoTags: ref?.tag !== undefined ? [`${ref.name}:${ref.tag}`] : [],
      Layers: layerNames,
    });
  }
  const bytes = Buffer.from(JSON.stringify(manifestJson));
  await tar.addFile(DOCKER_MANIFEST_FILE, bytes.byteLength, bytes, MEMBER);
}

function parsePlatformArg(spec: string): Platform {
  try {
    return parsePlatform(spec);
  } catch (err) {
    throw new ImagesError(statusCodeOf(err), messageOf(err), { cause: err });
  }
}

/** The manifest a docker-archive gets: the target itself, or the platform's entry among the present ones. */
function pickManifest(entries: WalkEntry[], record: ImageRecord, want: Platform): WalkEntry {
  const root = entries[0]!;
  if (root.document?.kind === 'manifest') return root;
  if (root.document?.kind !== 'index') throw failedPrecondition(`image ${record.name}: target is neither an index nor a manifest`);
  const presentManifests = root.document.index.manifests.filter((d) =>
    entries.some((e) => e.descriptor.digest === d.digest && e.document?.kind === 'manifest'),
  );
  let chosen: Descriptor;
  try {
    chosen = selectManifest({ ...root.document.index, manifests: presentManifests }, want);
  } catch (err) {
    throw new ImagesError(statusCodeOf(err), `image ${record.name} (docker-archive holds one platform): ${messageOf(err)}`, { cause: err });
  }
  return entries.find((e) => e.descriptor.digest === chosen.digest)!;
}

/** Writes a layer as a plain tar, decompressing through a temp file when needed; checks it against its diff_id. */
async function writeUncompressedLayer(
  content: ContentStore,
  tar: TarWriter,
  layer: Descriptor,
  diffId: Digest,
  name: string,
): Promise<void> {
  const head = await readHead(content, layer.digest);
  const compression = detectCompression(head);
  if (compression === 'none') {
    if (layer.digest !== diffId) {
      throw dataLoss(`layer ${layer.digest} is an uncompressed tar but its digest differs from its diff_id ${diffId}`);
    }
    await tar.addFile(name, content.info(layer.digest).size, content.readStream(layer.digest), MEMBER);
    return;
  }
  const tmp = join(content.paths.tmpDir, `export-${randomBytes(8).toString('hex')}.tar`);
  try {
    const fh = await open(tmp, 'w', 0o600);
    const digester = new Digester(parseDigest(diffId).algorithm);
    try {
      for await (const chunk of decompress(content.readStream(layer.digest) as AsyncIterable<Buffer>, compression)) {
        digester.update(chunk);
        await fh.write(chunk);
      }
    } finally {
      await fh.close();
    }
    if (digester.digest() !== diffId) {
      throw dataLoss(`layer ${layer.digest} decompresses to ${digester.digest()}, not its diff_id ${diffId}`);
    }
    await tar.addFile(name, digester.size, createReadStream(tmp) as AsyncIterable<Buffer>, MEMBER);
  } finally {
    await rm(tmp, { force: true });
  }
}

async function readHead(content: ContentStore, digest: Digest): Promise<Buffer> {
  const size = content.info(digest).size;
  if (size === 0) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const c of content.readStream(digest, { offset: 0, length: Math.min(8, size) })) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
