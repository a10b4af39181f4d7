import type * as grpc from '@grpc/grpc-js';
import { NAMESPACE_METADATA_KEY } from '@berth/api';
import { assertNamespace } from '@berth/bus';
import { invalidArgument } from '@berth/service-kit';

/** The namespace a request acts in (metadata berth-namespace), the configured one when absent. */
export function namespaceOf(call: { metadata: grpc.Metadata }, fallback: string): string {
  const value = call.metadata.get(NAMESPACE_METADATA_KEY)[0];
  const ns = value === undefined ? fallback : value.toString();
  try {
    assertNamespace(ns);
  } catch (err) {
    throw invalidArgument(`metadata ${NAMESPACE_METADATA_KEY}: ${(err as Error).message}`);
  }
  return ns;
}

/** This service offers one snapshotter, named after its driver; "" means it too. */
export function checkSnapshotter(requested: string, offered: string): void {
  if (requested !== '' && requested !== offered) {
    throw invalidArgument(`unknown snapshotter ${JSON.stringify(requested)}; this service offers ${JSON.stringify(offered)}`);
  }
}
