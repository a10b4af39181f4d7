// Image names as users type them: a record is found by its exact name or by
// the normalised reference ("busybox" -> "docker.io/library/busybox:latest").
import { parseReference } from '@berth/oci';
import { invalidArgument, notFound } from '../errors.js';
import type { ImageRecord, ImageStore } from '../images.js';

/** The canonical form of a reference, or undefined when `name` is not one. */
export function canonicalName(name: string): string | undefined {
  try {
    return parseReference(name).string();
  } catch {
    return undefined;
  }
}

/** The name a new record gets: the canonical reference when `name` is one, else `name` as given. */
export function recordName(name: string, field = 'name'): string {
  if (name === '') throw invalidArgument(`${field} is required`);
  return canonicalName(name) ?? name;
}

/** The record `name` refers to; NOT_FOUND naming the reference as resolved. */
export function findImage(store: ImageStore, namespace: string, name: string, field = 'name'): ImageRecord {
  if (name === '') throw invalidArgument(`${field} is required`);
  const candidates = [name, canonicalName(name)].filter((n): n is string => n !== undefined);
  for (const candidate of new Set(candidates)) {
    const found = store.find(namespace, candidate);
    if (found) return found;
  }
  const resolved = candidates.at(-1)!;
  throw notFound(`image ${resolved}${resolved !== name ? ` (from ${JSON.stringify(name)})` : ''} not found in namespace ${namespace}`);
}
