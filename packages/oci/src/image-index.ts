// Image indexes: OCI image index and Docker manifest list.
import { optionalMediaType, parseDescriptor } from './descriptor.js';
import { readJsonDocument, type ParseOptions } from './document.js';
import { expectObject, fieldPath, optionalStringMap, requireSchemaVersion2, requiredArray } from './fields.js';
import { checkDocumentMediaType } from './media-type-check.js';
import type { Index } from './types.js';

/** Parses and validates an index / manifest list from its raw bytes (size-bounded; see ParseOptions). */
export function parseIndex(bytes: Uint8Array | string, options?: ParseOptions): Index {
  return validateIndex(readJsonDocument(bytes, 'index', options), 'index');
}

/** Validates an already-parsed JSON value as an index; `path` prefixes error messages. */
export function validateIndex(value: unknown, path = 'index'): Index {
  const obj = expectObject(value, path);
  const schemaVersion = requireSchemaVersion2(obj, path);
  const mediaType = optionalMediaType(obj, 'mediaType', path);
  if (mediaType !== undefined) checkDocumentMediaType(mediaType, 'index', path);
  const index: Index = {
    schemaVersion,
    manifests: requiredArray(obj, 'manifests', path).map((entry, i) =>
      parseDescriptor(entry, `${fieldPath(path, 'manifests')}[${i}]`),
    ),
  };
  if (mediaType !== undefined) index.mediaType = mediaType;
  const artifactType = optionalMediaType(obj, 'artifactType', path);
  if (artifactType !== undefined) index.artifactType = artifactType;
  if (obj.subject !== undefined && obj.subject !== null) {
    index.subject = parseDescriptor(obj.subject, fieldPath(path, 'subject'));
  }
  const annotations = optionalStringMap(obj, 'annotations', path);
  if (annotations !== undefined) index.annotations = annotations;
  return index;
}
