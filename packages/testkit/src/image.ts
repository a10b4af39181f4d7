// buildImage: layer specs + config → an image in an OCI image layout.
// Everything that goes into a digest is derived from the spec alone (fixed
// created time and mtimes, sorted entries, canonical JSON), so building the
// same spec twice gives the same digests.
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { compressBuffer } from '@berth/tar';
import { sortedTarEntries, toTarEntry, type LayerEntry } from './layer-entries.js';
import {
  initLayout,
  jsonBytes,
  setRef,
  writeBlob,
  writeLayerBlob,
  type Descriptor,
  type Platform,
} from './layout.js';
import {
  configMediaType,
  indexMediaType,
  layerMediaType,
  manifestMediaType,
  type Compression,
  type MediaTypeFamily,
} from './media-types.js';
import { hostPlatform, parsePlatform } from './platform.js';
import { encodeTar, encodeTarEntry, endOfArchive } from './tar.js';

/** Layer content: entries (sorted by path unless order is 'given'), or an existing uncompressed tar file. */
export type LayerSpec =
  | LayerEntry[]
  | { entries: LayerEntry[]; order?: 'sorted' | 'given' }
  | { tarFile: string };

export interface ImageConfigSpec {
  entrypoint?: string[];
  cmd?: string[];
  /** ['K=V', ...] or { K: 'V' } (kept in the order given). */
  env?: string[] | Record<string, string>;
  workingDir?: string;
  user?: string;
  /** '80/tcp', '53/udp' or '8080' (→ tcp). */
  exposedPorts?: string[];
  volumes?: string[];
  labels?: Record<string, string>;
  stopSignal?: string;
}

export interface ImageSpec {
  layers: LayerSpec[];
  config?: ImageConfigSpec;
  /** Default 'oci'. */
  mediaTypes?: MediaTypeFamily;
  /** Default 'gzip'; 'zstd' needs mediaTypes 'oci'. */
  compression?: Compression;
  /** Default linux/<host arch>. */
  platform?: string | Platform;
  /** Name in the layout's index.json (org.opencontainers.image.ref.name); default 'latest'. */
  refName?: string;
  /** Manifest annotations (OCI media types only). */
  annotations?: Record<string, string>;
  /** Config `created` (RFC 3339); default 2020-01-01T00:00:00Z. */
  created?: string;
}

export interface BuiltLayer {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
}

export interface OciImageConfig {
  created: string;
  architecture: string;
  os: string;
  variant?: string;
  config: Record<string, unknown>;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: { created: string; created_by: string }[];
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface BuiltImage {
  layoutDir: string;
  refName: string;
  manifestDigest: string;
  manifestSize: number;
  manifestMediaType: string;
  configDigest: string;
  platform: Platform;
  layers: BuiltLayer[];
  manifest: ImageManifest;
  config: OciImageConfig;
}

export const DEFAULT_CREATED = '2020-01-01T00:00:00Z';

function normalisePort(port: string): string {
  if (!/^\d+(\/(tcp|udp|sctp))?$/.test(port)) throw new Error(`exposed port ${JSON.stringify(port)} is not PORT[/tcp|udp|sctp]`);
  return port.includes('/') ? port : `${port}/tcp`;
}

/** The `config` object of an image config, in Docker's field names. */
export function imageRuntimeConfig(spec: ImageConfigSpec): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (spec.user !== undefined) c.User = spec.user;
  if (spec.exposedPorts?.length) {
    c.ExposedPorts = Object.fromEntries(spec.exposedPorts.map((p) => [normalisePort(p), {}]));
  }
  if (spec.env !== undefined) {
    c.Env = Array.isArray(spec.env) ? [...spec.env] : Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
  }
  if (spec.entrypoint !== undefined) c.Entrypoint = [...spec.entrypoint];
  if (spec.cmd !== undefined) c.Cmd = [...spec.cmd];
  if (spec.volumes?.length) c.Volumes = Object.fromEntries(spec.volumes.map((v) => [v, {}]));
  if (spec.workingDir !== undefined) c.WorkingDir = spec.workingDir;
  if (spec.labels !== undefined) c.Labels = { ...spec.labels };
  if (spec.stopSignal !== undefined) c.StopSignal = spec.stopSignal;
  return c;
}

async function* tarFileChunks(path: string): AsyncGenerator<Buffer> {
  for await (const chunk of createReadStream(path)) yield chunk as Buffer;
}

function* entryChunks(entries: LayerEntry[], order: 'sorted' | 'given'): Generator<Buffer> {
  const tarEntries = order === 'sorted' ? sortedTarEntries(entries) : entries.map(toTarEntry);
  for (const e of tarEntries) yield* encodeTarEntry(e);
  yield endOfArchive();
}

function layerChunks(layer: LayerSpec): AsyncIterable<Buffer> | Iterable<Buffer> {
  if (Array.isArray(layer)) return entryChunks(layer, 'sorted');
  if ('tarFile' in layer) return tarFileChunks(layer.tarFile);
  return entryChunks(layer.entries, layer.order ?? 'sorted');
}

/** Writes an image's blobs (layers, config, manifest) into the layout, without naming it in index.json. */
export async function writeImageBlobs(spec: ImageSpec, layoutDir: string): Promise<Omit<BuiltImage, 'refName'>> {
  const family = spec.mediaTypes ?? 'oci';
  const compression = spec.compression ?? 'gzip';
  const layerType = layerMediaType(family, compression);
  const platform = spec.platform === undefined ? hostPlatform() : typeof spec.platform === 'string' ? parsePlatform(spec.platform) : spec.platform;
  if (spec.annotations && family !== 'oci') throw new Error('manifest annotations need OCI media types (Docker schema2 has none)');
  const created = spec.created ?? DEFAULT_CREATED;

  await mkdir(layoutDir, { recursive: true });
  await initLayout(layoutDir);

  const layers: BuiltLayer[] = [];
  for (const layer of spec.layers) {
    const blob = await writeLayerBlob(layoutDir, layerChunks(layer), compression);
    layers.push({ ...blob, mediaType: layerType });
  }

  const config: OciImageConfig = {
    created,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: imageRuntimeConfig(spec.config ?? {}),
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created, created_by: `berth testkit layer ${i + 1}` })),
  };
  const configBlob = await writeBlob(layoutDir, jsonBytes(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: manifestMediaType(family),
    config: { mediaType: configMediaType(family), digest: configBlob.digest, size: configBlob.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    ...(spec.annotations ? { annotations: { ...spec.annotations } } : {}),
  };
  const manifestBlob = await writeBlob(layoutDir, jsonBytes(manifest));
  return {
    layoutDir,
    manifestDigest: manifestBlob.digest,
    manifestSize: manifestBlob.size,
    manifestMediaType: manifest.mediaType,
    configDigest: configBlob.digest,
    platform,
    layers,
    manifest,
    config,
  };
}

/**
 * Builds an image into the OCI image layout at outDir (created if needed; an
 * existing layout keeps its other images, and a ref of the same name is
 * replaced) and names it spec.refName ('latest') in index.json.
 */
export async function buildImage(spec: ImageSpec, outDir: string): Promise<BuiltImage> {
  const refName = spec.refName ?? 'latest';
  const built = await writeImageBlobs(spec, outDir);
  await setRef(
    outDir,
    { mediaType: built.manifestMediaType, digest: built.manifestDigest, size: built.manifestSize, platform: built.platform },
    refName,
  );
  return { ...built, refName };
}

export interface BuiltIndex {
  layoutDir: string;
  refName: string;
  indexDigest: string;
  indexSize: number;
  indexMediaType: string;
  index: { schemaVersion: 2; mediaType: string; manifests: Descriptor[] };
  images: Omit<BuiltImage, 'refName'>[];
}

/**
 * Builds one image per spec (each with its own platform) and an index over
 * them (OCI image index, or a Docker manifest list with mediaTypes 'docker'),
 * named refName in index.json. All specs must use the index's media types.
 */
export async function buildIndex(
  specs: ImageSpec[],
  outDir: string,
  opts: { refName?: string; mediaTypes?: MediaTypeFamily } = {},
): Promise<BuiltIndex> {
  const family = opts.mediaTypes ?? 'oci';
  const refName = opts.refName ?? 'latest';
  if (specs.length === 0) throw new Error('buildIndex needs at least one image spec');
  const images: Omit<BuiltImage, 'refName'>[] = [];
  for (const spec of specs) {
    if ((spec.mediaTypes ?? 'oci') !== family) {
      throw new Error(`buildIndex: every image must use ${family} media types like the index (got ${spec.mediaTypes ?? 'oci'})`);
    }
    images.push(await writeImageBlobs(spec, outDir));
  }
  const index = {
    schemaVersion: 2 as const,
    mediaType: indexMediaType(family),
    manifests: images.map((img) => ({
      mediaType: img.manifestMediaType,
      digest: img.manifestDigest,
      size: img.manifestSize,
      platform: img.platform,
    })),
  };
  const blob = await writeBlob(outDir, jsonBytes(index));
  await setRef(outDir, { mediaType: index.mediaType, digest: blob.digest, size: blob.size }, refName);
  return {
    layoutDir: outDir,
    refName,
    indexDigest: blob.digest,
    indexSize: blob.size,
    indexMediaType: index.mediaType,
    index,
    images,
  };
}

/**
 * A layer as bytes, entries in exactly the order given and nothing
 * sanitised or sorted: for hostile-layer tests.
 */
export async function buildLayerTar(
  entries: readonly LayerEntry[],
  opts: { compression?: Compression } = {},
): Promise<Buffer> {
  const tar = encodeTar(entries.map(toTarEntry));
  return compressBuffer(tar, opts.compression ?? 'none');
}
