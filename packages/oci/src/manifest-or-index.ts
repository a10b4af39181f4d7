// Telling a manifest from an index when resolving a tag: the document's own
// mediaType decides, then the Content-Type the registry sent, then the shape.
import { readJsonDocument, type ParseOptions } from './document.js';
import { UnsupportedMediaTypeError } from './errors.js';
import { describe, expectObject, fail } from './fields.js';
import { validateIndex } from './image-index.js';
import { validateManifest } from './manifest.js';
import { checkDocumentMediaType } from './media-type-check.js';
import {
  MediaType,
  baseMediaType,
  isDockerSchema1MediaType,
  isIndexMediaType,
  isManifestMediaType,
} from './media-types.js';
import type { ManifestOrIndex } from './types.js';

/** Generic types registries sometimes send; they say nothing about the kind of document. */
const UNINFORMATIVE_HINTS: ReadonlySet<string> = new Set(['', 'application/json', 'application/octet-stream', 'text/plain']);

export function parseManifestOrIndex(
  bytes: Uint8Array | string,
  contentTypeHint?: string,
  options?: ParseOptions,
): ManifestOrIndex {
  const value = readJsonDocument(bytes, 'manifest', options);
  const obj = expectObject(value, 'manifest');

  const own = obj.mediaType;
  if (own !== undefined && own !== null) {
    if (typeof own !== 'string') fail('manifest.mediaType', `expected a string, got ${describe(own)}`);
    if (isIndexMediaType(own)) return { kind: 'index', mediaType: own, index: validateIndex(obj, 'index') };
    // Throws a clear "unsupported" error for anything that is not a manifest type either.
    checkDocumentMediaType(own, 'manifest', 'manifest');
    return { kind: 'manifest', mediaType: own, manifest: validateManifest(obj, 'manifest') };
  }

  const hint = contentTypeHint === undefined ? '' : baseMediaType(contentTypeHint);
  if (isIndexMediaType(hint)) return { kind: 'index', mediaType: hint, index: validateIndex(obj, 'index') };
  if (isManifestMediaType(hint)) {
    return { kind: 'manifest', mediaType: hint, manifest: validateManifest(obj, 'manifest') };
  }
  if (isDockerSchema1MediaType(hint) || obj.schemaVersion === 1) {
    throw new UnsupportedMediaTypeError(
      isDockerSchema1MediaType(hint) ? hint : MediaType.DockerSchema1Manifest,
      'Docker schema 1 manifests are not supported',
    );
  }
  if (!UNINFORMATIVE_HINTS.has(hint)) {
    throw new UnsupportedMediaTypeError(hint, 'Content-Type is neither a manifest nor an index media type');
  }

  if (Array.isArray(obj.manifests)) {
    return { kind: 'index', mediaType: MediaType.OciIndex, index: validateIndex(obj, 'index') };
  }
  if (obj.config !== undefined || obj.layers !== undefined) {
    return { kind: 'manifest', mediaType: MediaType.OciManifest, manifest: validateManifest(obj, 'manifest') };
  }
  return fail(
    'manifest',
    'neither an index (no "manifests" array) nor a manifest (no "config"/"layers"), and no mediaType says which',
  );
}
