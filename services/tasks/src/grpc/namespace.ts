// The namespace a request acts in: gRPC metadata "berth-namespace", else "default".
import type { Metadata } from '@grpc/grpc-js';
import { DEFAULT_NAMESPACE, NAMESPACE_METADATA_KEY } from '@berth/api';
import { checkNamespace } from '../ids.js';

export function namespaceOf(call: { metadata: Metadata }): string {
  const values = call.metadata.get(NAMESPACE_METADATA_KEY);
  const first = values[0];
  if (first === undefined) return DEFAULT_NAMESPACE;
  return checkNamespace(typeof first === 'string' ? first : first.toString('utf8'));
}
