// @berth/testkit: offline test images, a local registry in three auth modes,
// pushes with skopeo, isolated state roots, ports and names, isolated NATS.
export * from './nats.js';

export { FIXED_MTIME, encodeTar, encodeTarEntry, type RawTarEntry, type TarEntryType } from './tar.js';
export {
  OPAQUE_MARKER,
  WHITEOUT_PREFIX,
  sortedTarEntries,
  toTarEntry,
  type DeviceEntry,
  type DirEntry,
  type FifoEntry,
  type FileEntry,
  type HardlinkEntry,
  type LayerEntry,
  type OpaqueEntry,
  type RawEntry,
  type SymlinkEntry,
  type WhiteoutEntry,
} from './layer-entries.js';
export {
  MEDIA_TYPES,
  REF_NAME_ANNOTATION,
  layerMediaType,
  type Compression,
  type MediaTypeFamily,
} from './media-types.js';
export { compressBuffer, decompressBuffer } from '@berth/tar';
export { sha256Digest, sha256File } from './digest.js';
export { blobPath, readLayoutIndex, resolveRef, type Descriptor, type LayoutIndex, type Platform } from './layout.js';
export { hostPlatform, parsePlatform, formatPlatform } from './platform.js';
export {
  DEFAULT_CREATED,
  buildImage,
  buildIndex,
  buildLayerTar,
  type BuiltImage,
  type BuiltIndex,
  type BuiltLayer,
  type ImageConfigSpec,
  type ImageManifest,
  type ImageSpec,
  type LayerSpec,
  type OciImageConfig,
} from './image.js';
export { readLayerEntries, type ReadTarEntry } from './tar-read.js';
export { detectCompression } from '@berth/tar';
export { directoryTarChunks, writeDirectoryTar } from './rootfs-tar.js';
export { BUILDER_VERSION, cacheKey, cachedBuild, testCacheRoot, type CacheEntry } from './cache.js';
export { buildImageCached } from './images/cached-image.js';
export {
  BUSYBOX_CONFIG,
  BUSYBOX_GROUP,
  BUSYBOX_PASSWD,
  busyboxApplets,
  busyboxImage,
  busyboxLayerEntries,
  type TestImageOptions,
} from './images/busybox.js';
export { LAYERED_EXPECTED, layeredImage, layeredLayers, type LayeredImageOptions } from './images/layered.js';
export { aptMirrorFor } from './images/apt-mirror.js';
export { debianImage, debianRootfs, type DebianImageOptions, type DebianRootfs } from './images/debian.js';
export {
  REGISTRY_TOKEN_ISSUER,
  REGISTRY_TOKEN_SERVICE,
  startRegistry,
  type RegistryAuthMode,
  type RegistryCredentials,
  type RegistryOptions,
  type TestRegistry,
  type TokenAuthInfo,
} from './registry/registry.js';
export { decodeJwt, libtrustKeyId, signJwtRs256 } from './registry/jwt.js';
export { parseScope, startTokenServer, type TokenServer, type TokenServerOptions } from './registry/token-server.js';
export { pushImage, type PushOptions } from './push.js';
export { skopeo } from './skopeo.js';
export { skopeoInspect, withSkopeoSource } from './skopeo-source.js';
export { makeStateRoot, type StateRoot } from './state-root.js';
export { freePort } from './ports.js';
export { IFNAMSIZ_MAX, uniqueName } from './names.js';
export { removeTree } from './mounts.js';
export { requireBinary, run, type RunOptions, type RunResult } from './process.js';
export * from './network.js';
