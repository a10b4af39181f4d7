// Checks that a document's own mediaType field names the kind of document
// the caller asked for, with a message saying what it is instead.
import { UnsupportedMediaTypeError } from './errors.js';
import { fieldPath } from './fields.js';
import {
  MediaType,
  isConfigMediaType,
  isDockerSchema1MediaType,
  isIndexMediaType,
  isManifestMediaType,
} from './media-types.js';

export type DocumentKind = 'index' | 'manifest';

const IS_KIND: Record<DocumentKind, (mediaType: string) => boolean> = {
  index: isIndexMediaType,
  manifest: isManifestMediaType,
};

const EXPECTED: Record<DocumentKind, string> = {
  index: 'an OCI image index or Docker manifest list',
  manifest: 'an OCI image manifest or Docker schema 2 manifest',
};

export function checkDocumentMediaType(mediaType: string, kind: DocumentKind, path: string): void {
  if (IS_KIND[kind](mediaType)) return;
  const where = fieldPath(path, 'mediaType');
  let what = 'an unknown media type';
  if (isDockerSchema1MediaType(mediaType)) what = 'Docker schema 1, which is not supported';
  else if (mediaType === MediaType.OciArtifactManifest) what = 'an OCI artifact manifest, which is not supported';
  else if (isIndexMediaType(mediaType)) what = 'an index';
  else if (isManifestMediaType(mediaType)) what = 'a manifest';
  else if (isConfigMediaType(mediaType)) what = 'an image config';
  throw new UnsupportedMediaTypeError(mediaType, `${where}: expected ${EXPECTED[kind]}, this is ${what}`);
}
