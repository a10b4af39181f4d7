// Import of image archives: an OCI image layout tar (skopeo oci-archive:,
// umoci, ctr export, docker save >= 25) or a docker-archive (docker save,
// skopeo docker-archive:). Every blob is verified as it is stored (digest
// named by the path, or diff_id from the config for docker-archive layers);
// entries that would escape the archive root reject the whole archive. A
// failed import leaves nothing behind; a successful one returns its records.
import {
  Digester,
  MediaType,
  digestOf,
  isIndexMediaType,
  isManifestMediaType,
  parseDigest,
  parseImageConfig,
  parseIndex,
  parseReference,
  type Descriptor,
  type Digest,
  type Index,
  type LayerCompression,
} from '@berth/oci';
import { CompressionError, TarError, TarFormatError, detectCompression, decompress, openDecompressed, readTar, type TarEntry } from '@berth/tar';
import type { ContentStore } from '../content/store.js';
import { ContentMismatchError } from '../content/writer.js';
import { ImagesError, dataLoss, invalidArgument, messageOf, statusCodeOf } from '../errors.js';
import { emit, type EventSink } from '../events.js';
import { removeUnreferenced } from '../gc.js';
import type { ImageRecord, ImageStore } from '../images.js';
import type { LeaseManager } from '../leases.js';
import type { Labels } from '../labels.js';
import { parseStoredDocument } from '../walk.js';
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  DOCKER_MANIFEST_FILE,
  DOCKER_REPOSITORIES_FILE,
  OCI_INDEX_FILE,
  OCI_LAYOUT_FILE,
  digestOfBlobEntry,
  safeEntryPath,
  safeLinkTarget,
  type DockerArchiveEntry,
} from './layout.js';

export interface ImportDeps {
  content: ContentStore;
  images: ImageStore;
  leases: LeaseManager;
}

export interface ImportOptions {
  namespace: string;
  /** Repository for entries named only by a tag (umoci's "latest"): imported as `<baseName>:<tag>`. */
  baseName?: string;
  /** Labels for the created records. */
  labels?: Labels;
  events?: EventSink;
  signal?: AbortSignal;
  /** The format the archive must have; default: whichever it is. */
  format?: 'oci' | 'docker';
}

export interface ImportResult {
  format: 'oci' | 'docker';
  images: ImageRecord[];
}

const METADATA_FILES = new Set([OCI_LAYOUT_FILE, OCI_INDEX_FILE, DOCKER_MANIFEST_FILE, DOCKER_REPOSITORIES_FILE]);
const MAX_METADATA_BYTES = 4 * 1024 * 1024;
const TAG_ONLY = /^[\w][\w.-]{0,127}$/;

interface StoredFile {
  digest: Digest;
  size: number;
}

interface ArchiveContents {
  metadata: Map<string, Buffer>;
  files: Map<string, StoredFile>;
  links: Map<string, string>;
}

/** Imports the archive read from `input` (a tar, optionally gzip- or zstd-compressed). */
export async function importArchive(
  deps: ImportDeps,
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: ImportOptions,
): Promise<ImportResult> {
  const lease = deps.leases.create({ ttlMs: 3_600_000, labels: { 'berth.io/import': opts.namespace } });
  // Blobs this import added (only those are candidates for removal if it fails).
  const created = new Set<string>();
  const protect = (digest: Digest) => {
    if (!deps.content.has(digest)) created.add(digest);
    deps.leases.addResource(lease.id, { kind: 'content', id: digest });
  };
  try {
    const contents = await readArchive(deps.content, input, lease.id, protect, opts.signal);
    const isOci = contents.metadata.has(OCI_LAYOUT_FILE) || contents.metadata.has(OCI_INDEX_FILE);
    let planned: { name: string; target: Descriptor }[];
    let format: ImportResult['format'];
    if (isOci) {
      format = 'oci';
      planned = await planOci(deps.content, contents, opts);
    } else if (contents.metadata.has(DOCKER_MANIFEST_FILE)) {
      format = 'docker';
      planned = await planDocker(deps.content, contents, protect);
    } else {
      throw invalidArgument(
        'archive is neither an OCI image layout (no oci-layout or index.json) nor a docker-archive (no manifest.json)',
      );
    }
    if (opts.format !== undefined && opts.format !== format) {
      throw invalidArgument(`archive is ${formatName(format)}, not ${formatName(opts.format)} as asked`);
    }
    if (planned.length === 0) throw invalidArgument('archive contains no images');
    const images = planned.map((p) =>
      deps.images.create(opts.namespace, { name: p.name, target: p.target, ...(opts.labels ? { labels: opts.labels } : {}) }, { update: true }),
    );
    deps.leases.release(lease.id);
    emit(opts.events, {
      type: 'images.imported',
      namespace: opts.namespace,
      payload: { format, images: images.map((i) => ({ name: i.name, target: i.target })) },
    });
    return { format, images };
  } catch (err) {
    deps.leases.release(lease.id);
    removeUnreferenced(deps, created);
    throw err;
  }
}

function formatName(format: ImportResult['format']): string {
  return format === 'oci' ? 'an OCI image layout' : 'a docker-archive';
}

/** A reader's complaint about the archive bytes, as the client's error (anything else passes through). */
function archiveInputError(err: unknown): unknown {
  if (err instanceof TarFormatError) return invalidArgument(`corrupt tar archive: ${err.message}`, err);
  if (err instanceof TarError) return invalidArgument(err.message, err);
  if (err instanceof CompressionError && err.reason === 'corrupt') return invalidArgument(`archive: ${err.message}`, err);
  return err;
}

async function readArchive(
  content: ContentStore,
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  leaseId: string,
  protect: (d: Digest) => void,
  signal: AbortSignal | undefined,
): Promise<ArchiveContents> {
  try {
    // gzip- or zstd-compressed archives are read as their first bytes say
    return await readEntries(content, readTar((await openDecompressed(input)).stream), leaseId, protect, signal);
  } catch (err) {
    throw archiveInputError(err);
  }
}

async function readEntries(
  content: ContentStore,
  entries: AsyncIterable<TarEntry>,
  leaseId: string,
  protect: (d: Digest) => void,
  signal: AbortSignal | undefined,
): Promise<ArchiveContents> {
  const metadata = new Map<string, Buffer>();
  const files = new Map<string, StoredFile>();
  const links = new Map<string, string>();
  for await (const entry of entries) {
    signal?.throwIfAborted();
    const { header } = entry;
    const path = safeEntryPath(header.name);
    if (header.type === 'symlink' || header.type === 'hardlink') {
      links.set(path, safeLinkTarget(path, header.linkname, header.type));
      continue;
    }
    if (header.type !== 'file' || path === '') continue;
    if (METADATA_FILES.has(path)) {
      if (header.size > MAX_METADATA_BYTES) {
        throw invalidArgument(`archive ${path} is ${header.size} bytes, over the limit of ${MAX_METADATA_BYTES}`);
      }
      const chunks: Buffer[] = [];
      for await (const c of entry.body) chunks.push(c);
      metadata.set(path, Buffer.concat(chunks));
      continue;
    }
    // Legacy docker save per-layer metadata: nothing berth needs.
    if (/^[^/]+\/(json|VERSION)$/.test(path)) continue;
    const named = digestOfBlobEntry(path) ?? configDigestOf(path);
    if (named && content.has(named)) {
      protect(named);
      files.set(path, { digest: named, size: content.info(named).size });
      continue;
    }
    if (named) protect(named);
    const writer = await content.writer(`import-${leaseId}-${path}`, {
      ...(named ? { expected: named } : {}),
      total: header.size,
    });
    try {
      if (writer.offset > 0) await writer.truncate();
      for await (const chunk of entry.body) await writer.write(chunk);
      const info = await writer.commit({ onCommit: protect });
      files.set(path, { digest: info.digest, size: info.size });
    } catch (err) {
      if (err instanceof ContentMismatchError) {
        throw dataLoss(`archive entry ${path}: ${err.kind} mismatch: expected ${err.expected}, got ${err.actual}`, err);
      }
      throw err;
    } finally {
      await writer.close();
    }
  }
  return { metadata, files, links };
}

/** docker-archive configs are named "<sha256 hex>.json": the name is the digest to verify against. */
function configDigestOf(path: string): Digest | undefined {
  const m = /^([a-f0-9]{64})\.json$/.exec(path);
  return m ? (`sha256:${m[1]}` as Digest) : undefined;
}

function parseJsonFile(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`archive ${what} is not valid JSON: ${messageOf(err)}`);
  }
}

// ---------- OCI image layout ----------

async function planOci(content: ContentStore, contents: ArchiveContents, opts: ImportOptions) {
  const layoutBytes = contents.metadata.get(OCI_LAYOUT_FILE);
  if (!layoutBytes) throw invalidArgument('archive has index.json but no oci-layout file: not an OCI image layout');
  const layout = parseJsonFile(layoutBytes, OCI_LAYOUT_FILE) as { imageLayoutVersion?: unknown };
  if (typeof layout?.imageLayoutVersion !== 'string' || !/^1\./.test(layout.imageLayoutVersion)) {
    throw invalidArgument(`archive oci-layout: unsupported imageLayoutVersion ${JSON.stringify(layout?.imageLayoutVersion)}`);
  }
  const indexBytes = contents.metadata.get(OCI_INDEX_FILE);
  if (!indexBytes) throw invalidArgument('archive has an oci-layout file but no index.json');
  let index: Index;
  try {
    index = parseIndex(indexBytes);
  } catch (err) {
    throw new ImagesError(statusCodeOf(err), `archive index.json: ${messageOf(err)}`, { cause: err });
  }
  const planned: { name: string; target: Descriptor }[] = [];
  for (const [i, entry] of index.manifests.entries()) {
    const where = `archive index.json manifests[${i}]`;
    await checkComplete(content, entry, where);
    planned.push({ name: ociEntryName(entry, i, opts.baseName), target: stripNameAnnotations(entry) });
  }
  return planned;
}

function ociEntryName(entry: Descriptor, i: number, baseName: string | undefined): string {
  const annotations = entry.annotations ?? {};
  const full = annotations[ANNOTATION_IMAGE_NAME];
  const refName = annotations[ANNOTATION_REF_NAME];
  const where = `archive index.json manifests[${i}]`;
  const normalise = (name: string) => {
    try {
      return parseReference(name).string();
    } catch (err) {
      throw invalidArgument(`${where}: image name ${JSON.stringify(name)}: ${messageOf(err)}`);
    }
  };
  if (full) return normalise(full);
  if (refName) {
    if (TAG_ONLY.test(refName)) {
      if (!baseName) {
        throw invalidArgument(`${where} is named only by the tag ${JSON.stringify(refName)}; give a base name to import it under`);
      }
      return normalise(`${baseName}:${refName}`);
    }
    return normalise(refName);
  }
  return entry.digest; // unnamed: recorded under its digest
}

/** The target as a record keeps it: index.json's naming annotations belong to the archive, not the image. */
function stripNameAnnotations(entry: Descriptor): Descriptor {
  const { annotations, ...rest } = entry;
  if (!annotations) return rest;
  const kept = Object.fromEntries(
    Object.entries(annotations).filter(([k]) => k !== ANNOTATION_IMAGE_NAME && k !== ANNOTATION_REF_NAME),
  );
  return Object.keys(kept).length > 0 ? { ...rest, annotations: kept } : rest;
}

/**
 * Checks that `desc` and what it needs are in the store with the sizes the
 * descriptors state: a manifest needs its config and layers; an index needs
 * at least one complete manifest (other platforms may be left out).
 */
async function checkComplete(content: ContentStore, desc: Descriptor, where: string): Promise<void> {
  if (!content.has(desc.digest)) throw invalidArgument(`${where}: blob ${desc.digest} is not in the archive`);
  const size = content.info(desc.digest).size;
  if (size !== desc.size) throw dataLoss(`${where}: blob ${desc.digest} is ${size} bytes, the descriptor says ${desc.size}`);
  if (!isIndexMediaType(desc.mediaType) && !isManifestMediaType(desc.mediaType)) return;
  const doc = parseStoredDocument(desc.digest, desc.mediaType, await content.readBytes(desc.digest));
  if (doc.kind === 'manifest') {
    for (const child of [doc.manifest.config, ...doc.manifest.layers]) await checkComplete(content, child, `${where} -> ${desc.digest}`);
    return;
  }
  let complete = 0;
  for (const child of doc.index.manifests) {
    if (!content.has(child.digest)) continue;
    await checkComplete(content, child, `${where} -> ${desc.digest}`);
    complete++;
  }
  if (complete === 0) throw invalidArgument(`${where}: index ${desc.digest} has none of its ${doc.index.manifests.length} manifests in the archive`);
}

// ---------- docker-archive ----------

function resolvePath(contents: ArchiveContents, path: string, where: string): StoredFile {
  let p = safeEntryPath(path);
  for (let hops = 0; hops < 16; hops++) {
    const file = contents.files.get(p);
    if (file) return file;
    const next = contents.links.get(p);
    if (next === undefined) break;
    p = next;
  }
  throw invalidArgument(`${where}: ${JSON.stringify(path)} is not in the archive`);
}

function parseDockerManifest(bytes: Buffer): DockerArchiveEntry[] {
  const value = parseJsonFile(bytes, DOCKER_MANIFEST_FILE);
  if (!Array.isArray(value)) throw invalidArgument('archive manifest.json: expected an array of images');
  return value.map((e: unknown, i) => {
    const where = `archive manifest.json[${i}]`;
    const entry = e as Partial<DockerArchiveEntry> | null;
    if (!entry || typeof entry !== 'object') throw invalidArgument(`${where}: expected an object`);
    if (typeof entry.Config !== 'string') throw invalidArgument(`${where}.Config: expected a path string`);
    if (!Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string')) {
      throw invalidArgument(`${where}.Layers: expected an array of path strings`);
    }
    if (entry.RepoTags != null && (!Array.isArray(entry.RepoTags) || !entry.RepoTags.every((t) => typeof t === 'string'))) {
      throw invalidArgument(`${where}.RepoTags: expected an array of strings`);
    }
    return { Config: entry.Config, Layers: entry.Layers, RepoTags: entry.RepoTags ?? [] };
  });
}

async function planDocker(content: ContentStore, contents: ArchiveContents, protect: (d: Digest) => void) {
  const entries = parseDockerManifest(contents.metadata.get(DOCKER_MANIFEST_FILE)!);
  const planned: { name: string; target: Descriptor }[] = [];
  for (const [i, entry] of entries.entries()) {
    const where = `archive manifest.json[${i}]`;
    const configFile = resolvePath(contents, entry.Config, `${where}.Config`);
    const configBytes = await content.readBytes(configFile.digest);
    let diffIds: Digest[];
    try {
      diffIds = parseImageConfig(configBytes, { maxBytes: 16 * 1024 * 1024 }).rootfs.diff_ids;
    } catch (err) {
      throw new ImagesError(statusCodeOf(err), `${where}: config ${entry.Config}: ${messageOf(err)}`, { cause: err });
    }
    if (diffIds.length !== entry.Layers.length) {
      throw invalidArgument(`${where}: ${entry.Layers.length} layers but the config lists ${diffIds.length} diff_ids`);
    }
    const layers: Descriptor[] = [];
    let anyZstd = false;
    for (const [j, layerPath] of entry.Layers.entries()) {
      const file = resolvePath(contents, layerPath, `${where}.Layers[${j}]`);
      const compression = await verifyDiffId(content, file, diffIds[j]!, `${where}.Layers[${j}] (${layerPath})`);
      anyZstd ||= compression === 'zstd';
      layers.push({ mediaType: compression, digest: file.digest, size: file.size } as Descriptor);
    }
    // Docker schema 2 like `docker load` + push would produce; OCI when a layer is zstd (Docker has no type for it).
    const oci = anyZstd;
    const manifest = {
      schemaVersion: 2,
      mediaType: oci ? MediaType.OciManifest : MediaType.DockerManifest,
      config: { mediaType: oci ? MediaType.OciConfig : MediaType.DockerConfig, digest: configFile.digest, size: configFile.size },
      layers: layers.map((l) => ({ ...l, mediaType: layerMediaType(l.mediaType as LayerCompression, oci) })),
    };
    const bytes = Buffer.from(JSON.stringify(manifest, null, 3));
    const digest = digestOf(bytes);
    protect(digest);
    await content.writeBytes(`import-manifest-${digest}`, bytes, { expected: digest });
    const target: Descriptor = { mediaType: manifest.mediaType, digest, size: bytes.byteLength };
    const tags = entry.RepoTags ?? [];
    if (tags.length === 0) planned.push({ name: digest, target });
    for (const tag of tags) {
      let name: string;
      try {
        name = parseReference(tag).string();
      } catch (err) {
        throw invalidArgument(`${where}.RepoTags: ${messageOf(err)}`);
      }
      planned.push({ name, target });
    }
  }
  return planned;
}

function layerMediaType(compression: LayerCompression, oci: boolean): string {
  if (oci) return compression === 'gzip' ? MediaType.OciLayerGzip : compression === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayer;
  return compression === 'gzip' ? MediaType.DockerLayerGzip : MediaType.DockerLayer;
}

/** Checks a layer blob's uncompressed digest against the config's diff_id; returns its compression. */
async function verifyDiffId(content: ContentStore, file: StoredFile, diffId: Digest, where: string): Promise<LayerCompression> {
  const headChunks: Buffer[] = [];
  if (file.size > 0) {
    for await (const c of content.readStream(file.digest, { length: Math.min(8, file.size) })) headChunks.push(c as Buffer);
  }
  const compression = detectCompression(Buffer.concat(headChunks));
  if (compression === 'none') {
    if (file.digest !== diffId) throw dataLoss(`${where}: layer tar hashes to ${file.digest}, the config's diff_id is ${diffId}`);
    return compression;
  }
  const digester = new Digester(parseDigest(diffId).algorithm);
  try {
    for await (const chunk of decompress(content.readStream(file.digest) as AsyncIterable<Buffer>, compression)) digester.update(chunk);
  } catch (err) {
    throw dataLoss(`${where}: ${compression} layer does not decompress: ${messageOf(err)}`, err);
  }
  if (digester.digest() !== diffId) {
    throw dataLoss(`${where}: layer decompresses to ${digester.digest()}, the config's diff_id is ${diffId}`);
  }
  return compression;
}
