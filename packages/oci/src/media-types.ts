// Media types of the OCI image spec and Docker's image manifest v2 schema 2,
// and the classification the puller and unpacker need.
import { UnsupportedMediaTypeError } from './errors.js';

export const MediaType = {
  // OCI image spec
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  /** The empty descriptor's media type (content "{}"), used as the config of artifacts. */
  OciEmptyJson: 'application/vnd.oci.empty.v1+json',
  /** Artifact manifest of the image-spec 1.1 release candidates (dropped from 1.1 final, still seen in registries). */
  OciArtifactManifest: 'application/vnd.oci.artifact.manifest.v1+json',

  // Docker image manifest v2, schema 2
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerLayerForeign: 'application/vnd.docker.image.rootfs.foreign.diff.tar',
  DockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  /** Docker schema 1 (signed and unsigned): recognised only so it can be refused with a clear message. */
  DockerSchema1Manifest: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  DockerSchema1ManifestUnsigned: 'application/vnd.docker.distribution.manifest.v1+json',
} as const;

export type KnownMediaType = (typeof MediaType)[keyof typeof MediaType];

/** The EMPTY descriptor's content and digest (image-spec 1.1, "Guidance for an empty descriptor"). */
export const EMPTY_JSON_CONTENT = '{}';
export const EMPTY_JSON_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/**
 * Media types a registry client lists in Accept when resolving a tag, so OCI and
 * Docker registries answer with an index/list or a manifest, never schema 1.
 */
export const MANIFEST_ACCEPT_TYPES: readonly string[] = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
];

export type LayerCompression = 'gzip' | 'zstd' | 'none';

const INDEX_TYPES: ReadonlySet<string> = new Set([MediaType.OciIndex, MediaType.DockerManifestList]);
const MANIFEST_TYPES: ReadonlySet<string> = new Set([MediaType.OciManifest, MediaType.DockerManifest]);
const CONFIG_TYPES: ReadonlySet<string> = new Set([MediaType.OciConfig, MediaType.DockerConfig]);
const LAYER_COMPRESSION: ReadonlyMap<string, LayerCompression> = new Map<string, LayerCompression>([
  [MediaType.OciLayer, 'none'],
  [MediaType.OciLayerGzip, 'gzip'],
  [MediaType.OciLayerZstd, 'zstd'],
  [MediaType.OciLayerNondistributable, 'none'],
  [MediaType.OciLayerNondistributableGzip, 'gzip'],
  [MediaType.OciLayerNondistributableZstd, 'zstd'],
  [MediaType.DockerLayer, 'none'],
  [MediaType.DockerLayerGzip, 'gzip'],
  [MediaType.DockerLayerForeign, 'none'],
  [MediaType.DockerLayerForeignGzip, 'gzip'],
]);
const NONDISTRIBUTABLE_TYPES: ReadonlySet<string> = new Set([
  MediaType.OciLayerNondistributable,
  MediaType.OciLayerNondistributableGzip,
  MediaType.OciLayerNondistributableZstd,
  MediaType.DockerLayerForeign,
  MediaType.DockerLayerForeignGzip,
]);

/** The bare media type of a Content-Type header value: parameters dropped, lowercased, trimmed. */
export function baseMediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/** OCI image index or Docker manifest list. */
export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType);
}

/** OCI image manifest or Docker schema 2 manifest. */
export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_TYPES.has(mediaType);
}

/** OCI image config or Docker container image config. */
export function isConfigMediaType(mediaType: string): boolean {
  return CONFIG_TYPES.has(mediaType);
}

/** Any filesystem layer type berth can unpack (OCI or Docker, any supported compression). */
export function isLayerMediaType(mediaType: string): boolean {
  return LAYER_COMPRESSION.has(mediaType);
}

/** Layers registries may decline to serve (OCI non-distributable, Docker foreign); their `urls` say where else to get them. */
export function isNondistributableLayerMediaType(mediaType: string): boolean {
  return NONDISTRIBUTABLE_TYPES.has(mediaType);
}

/** Docker schema 1 manifests, which berth refuses. */
export function isDockerSchema1MediaType(mediaType: string): boolean {
  return mediaType === MediaType.DockerSchema1Manifest || mediaType === MediaType.DockerSchema1ManifestUnsigned;
}

/** The compression of a layer blob; throws UnsupportedMediaTypeError for anything that is not a known layer type. */
export function layerCompression(mediaType: string): LayerCompression {
  const compression = LAYER_COMPRESSION.get(mediaType);
  if (compression !== undefined) return compression;
  let reason = 'not a known image layer media type';
  if (mediaType.includes('+encrypted')) {
    reason = 'encrypted layers are not supported';
  } else if (isIndexMediaType(mediaType) || isManifestMediaType(mediaType) || isConfigMediaType(mediaType)) {
    reason = 'this is a manifest, index or config media type, not a layer';
  }
  throw new UnsupportedMediaTypeError(mediaType, reason);
}
