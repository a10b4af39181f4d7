// Image references as the user types them ("busybox", "127.0.0.1:5000/a/b:1"),
// normalised as the services do, with a usage error for a malformed one.
import { InvalidReferenceError, parseReference, type ImageReference } from '@berth/oci';
import { UsageError } from '../output.js';

/** A reference as the services normalise it ("busybox" -> docker.io/library/busybox:latest). */
export function resolveReference(ref: string): ImageReference {
  try {
    return parseReference(ref);
  } catch (err) {
    if (err instanceof InvalidReferenceError) throw new UsageError(err.message);
    throw err;
  }
}
