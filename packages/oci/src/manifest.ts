// Image manifests: OCI image manifest and Docker schema 2 manifest.
import { optionalMediaType, parseDescriptor } from './descriptor.js';
import { readJsonDocument, type ParseOptions } from './document.js';
import { expectObject, fail, fieldPath, optionalStringMap, requireSchemaVersion2, requiredArray } from './fields.js';
import { checkDocumentMediaType } from './media-type-check.js';
import type { Manifest } from './types.js';

/** Parses and validates a manifest from its raw bytes (size-bounded; see ParseOptions). */
export function parseManifest(bytes: Uint8Array | string, options?: ParseOptions): Manifest {
  return validateManifest(readJsonDocument(bytes, 'manifest', options), 'manifest');
}

/** Validates an already-parsed JSON value as a manifest; `path` prefixes error messages. */
export function validateManifest(value: unknown, path = 'manifest'): Manifest {
  const obj = expectObject(value, path);
  const schemaVersion = requireSchemaVersion2(obj, path);
  const mediaType = optionalMediaType(obj, 'mediaType', path);
  if (mediaType !== undefined) checkDocumentMediaType(mediaType, 'manifest', path);
  if (obj.config === undefined) fail(fieldPath(path, 'config'), 'missing required field');
  const manifest: Manifest = {
    schemaVersion,
    config: parseDescriptor(obj.config, fieldPath(path, 'config')),
    layers: requiredArray(obj, 'layers', path).map((layer, i) =>
      parseDescriptor(layer, `${fieldPath(path, 'layers')}[${i}]`),
    ),
  };
  if (mediaType !== undefined) manifest.mediaType = mediaType;
  const artifactType = optionalMediaType(obj, 'artifactType', path);
  if (artifactType !== undefined) manifest.artifactType = artifactType;
  if (obj.subject !== undefined && obj.subject !== null) {
    manifest.subject = parseDescriptor(obj.subject, fieldPath(path, 'subject'));
  }
  const annotations = optionalStringMap(obj, 'annotations', path);
  if (annotations !== undefined) manifest.annotations = annotations;
  return manifest;
}
