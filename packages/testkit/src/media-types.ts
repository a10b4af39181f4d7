// Media types the builder writes. Kept here (not imported from @berth/oci) so
// the harness does not depend on what it is used to test.
export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export type MediaTypeFamily = 'oci' | 'docker';
export type Compression = 'gzip' | 'none' | 'zstd';

/** The annotation OCI image layouts use to name a manifest in index.json. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

export function layerMediaType(family: MediaTypeFamily, compression: Compression): string {
  if (family === 'oci') {
    if (compression === 'gzip') return MEDIA_TYPES.ociLayerGzip;
    if (compression === 'zstd') return MEDIA_TYPES.ociLayerZstd;
    return MEDIA_TYPES.ociLayer;
  }
  if (compression === 'gzip') return MEDIA_TYPES.dockerLayerGzip;
  if (compression === 'none') return MEDIA_TYPES.dockerLayer;
  throw new Error('zstd layers exist only with OCI media types (Docker schema2 has no zstd layer media type)');
}

export function manifestMediaType(family: MediaTypeFamily): string {
  return family === 'oci' ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest;
}

export function configMediaType(family: MediaTypeFamily): string {
  return family === 'oci' ? MEDIA_TYPES.ociConfig : MEDIA_TYPES.dockerConfig;
}

export function indexMediaType(family: MediaTypeFamily): string {
  return family === 'oci' ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.dockerManifestList;
}
