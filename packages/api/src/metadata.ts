// gRPC metadata berth requests carry besides the message (see proto/README.md).

/** Metadata key (and NATS header) naming the namespace a request acts in. */
export const NAMESPACE_METADATA_KEY = 'berth-namespace';

/** Namespace used when a request names none. */
export const DEFAULT_NAMESPACE = 'default';

/**
 * Trailing metadata key of a failed call whose cause a client may act on by
 * itself (see ErrorReason), beside the status code, which says only the class.
 */
export const ERROR_REASON_METADATA_KEY = 'berth-error-reason';

/** Values of ERROR_REASON_METADATA_KEY. */
export const ErrorReason = {
  /** CreateContainer: the image is not in the images service; pull it and retry (as `docker run` does). */
  IMAGE_NOT_FOUND: 'IMAGE_NOT_FOUND',
} as const;
export type ErrorReason = (typeof ErrorReason)[keyof typeof ErrorReason];
