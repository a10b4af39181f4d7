// gRPC metadata berth requests carry besides the message (see proto/README.md).

/** Metadata key (and NATS header) naming the namespace a request acts in. */
export const NAMESPACE_METADATA_KEY = 'berth-namespace';

/** Namespace used when a request names none. */
export const DEFAULT_NAMESPACE = 'default';
