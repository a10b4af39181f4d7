import { describe, expect, it } from 'vitest';
import {
  baseMediaType,
  digestOf,
  EMPTY_JSON_CONTENT,
  EMPTY_JSON_DIGEST,
  isConfigMediaType,
  isDockerSchema1MediaType,
  isIndexMediaType,
  isLayerMediaType,
  isManifestMediaType,
  isNondistributableLayerMediaType,
  layerCompression,
  MANIFEST_ACCEPT_TYPES,
  MediaType,
  UnsupportedMediaTypeError,
} from '../src/index.js';
import { thrown } from './helpers.js';

describe('media types', () => {
  it('has the spec strings', () => {
    expect(MediaType.OciIndex).toBe('application/vnd.oci.image.index.v1+json');
    expect(MediaType.OciManifest).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(MediaType.OciConfig).toBe('application/vnd.oci.image.config.v1+json');
    expect(MediaType.OciEmptyJson).toBe('application/vnd.oci.empty.v1+json');
    expect(MediaType.DockerManifestList).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(MediaType.DockerManifest).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(MediaType.DockerConfig).toBe('application/vnd.docker.container.image.v1+json');
    expect(MediaType.DockerLayerGzip).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    expect(MediaType.DockerLayerForeignGzip).toBe('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip');
  });

  it('EMPTY_JSON_DIGEST is the digest of "{}"', () => {
    expect(digestOf(EMPTY_JSON_CONTENT)).toBe(EMPTY_JSON_DIGEST);
  });

  it.each([
    [MediaType.OciLayer, 'none', false],
    [MediaType.OciLayerGzip, 'gzip', false],
    [MediaType.OciLayerZstd, 'zstd', false],
    [MediaType.OciLayerNondistributable, 'none', true],
    [MediaType.OciLayerNondistributableGzip, 'gzip', true],
    [MediaType.OciLayerNondistributableZstd, 'zstd', true],
    [MediaType.DockerLayer, 'none', false],
    [MediaType.DockerLayerGzip, 'gzip', false],
    [MediaType.DockerLayerForeign, 'none', true],
    [MediaType.DockerLayerForeignGzip, 'gzip', true],
  ] as const)('layer %s is %s', (mediaType, compression, nondistributable) => {
    expect(layerCompression(mediaType)).toBe(compression);
    expect(isLayerMediaType(mediaType)).toBe(true);
    expect(isNondistributableLayerMediaType(mediaType)).toBe(nondistributable);
    expect(isManifestMediaType(mediaType)).toBe(false);
    expect(isIndexMediaType(mediaType)).toBe(false);
  });

  it('classifies indexes, manifests and configs', () => {
    for (const t of [MediaType.OciIndex, MediaType.DockerManifestList]) {
      expect([isIndexMediaType(t), isManifestMediaType(t), isLayerMediaType(t), isConfigMediaType(t)]).toEqual([
        true,
        false,
        false,
        false,
      ]);
    }
    for (const t of [MediaType.OciManifest, MediaType.DockerManifest]) {
      expect([isIndexMediaType(t), isManifestMediaType(t), isLayerMediaType(t), isConfigMediaType(t)]).toEqual([
        false,
        true,
        false,
        false,
      ]);
    }
    for (const t of [MediaType.OciConfig, MediaType.DockerConfig]) {
      expect([isIndexMediaType(t), isManifestMediaType(t), isLayerMediaType(t), isConfigMediaType(t)]).toEqual([
        false,
        false,
        false,
        true,
      ]);
    }
    expect(isManifestMediaType(MediaType.OciArtifactManifest)).toBe(false);
    expect(isDockerSchema1MediaType(MediaType.DockerSchema1Manifest)).toBe(true);
    expect(isDockerSchema1MediaType(MediaType.DockerSchema1ManifestUnsigned)).toBe(true);
    expect(isDockerSchema1MediaType(MediaType.DockerManifest)).toBe(false);
  });

  it('layerCompression throws a clear error for anything else', () => {
    expect(() => layerCompression('application/x-tar')).toThrow(UnsupportedMediaTypeError);
    expect(() => layerCompression('application/x-tar')).toThrow(
      'unsupported media type "application/x-tar": not a known image layer media type',
    );
    expect(() => layerCompression('application/vnd.oci.image.layer.v1.tar+gzip+encrypted')).toThrow(
      /encrypted layers are not supported/,
    );
    expect(() => layerCompression(MediaType.OciManifest)).toThrow(/not a layer/);
    expect(() => layerCompression(MediaType.OciEmptyJson)).toThrow(/not a known image layer/);
    const err = thrown(() => layerCompression('')) as UnsupportedMediaTypeError;
    expect(err.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(err.mediaType).toBe('');
  });

  it('baseMediaType strips parameters', () => {
    expect(baseMediaType('Application/JSON; charset=utf-8')).toBe('application/json');
    expect(baseMediaType(` ${MediaType.OciIndex} `)).toBe(MediaType.OciIndex);
  });

  it('MANIFEST_ACCEPT_TYPES lists all index and manifest types, no schema 1', () => {
    expect([...MANIFEST_ACCEPT_TYPES].sort()).toEqual(
      [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest].sort(),
    );
  });
});
