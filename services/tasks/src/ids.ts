// Container ids, names and exec ids: generation and validation.
import { randomBytes } from 'node:crypto';
import { invalidArgument } from './errors.js';

const CONTAINER_ID = /^[0-9a-f]{64}$/;
/** Docker's container name rule. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const EXEC_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const NAMESPACE = /^[A-Za-z0-9_-]{1,128}$/;

/** A new container id: 64 lowercase hex characters, never all digits (so it cannot pass for a number). */
export function generateContainerId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d+$/.test(id.slice(0, 12))) return id;
  }
}

/** A new exec id. */
export function generateExecId(): string {
  return randomBytes(16).toString('hex');
}

/** Throws INVALID_ARGUMENT unless `id` is 64 lowercase hex characters. */
export function checkContainerId(id: string): string {
  if (!CONTAINER_ID.test(id)) {
    throw invalidArgument(`invalid container id ${JSON.stringify(id)}: expected 64 lowercase hexadecimal characters`);
  }
  return id;
}

/** The name without Docker's optional leading "/", or INVALID_ARGUMENT. */
export function checkContainerName(input: string): string {
  const name = input.startsWith('/') ? input.slice(1) : input;
  if (!CONTAINER_NAME.test(name) || name.length > 253) {
    throw invalidArgument(
      `invalid container name ${JSON.stringify(input)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters`,
    );
  }
  return name;
}

/** Throws INVALID_ARGUMENT unless `execId` is a usable exec id. */
export function checkExecId(execId: string): string {
  if (!EXEC_ID.test(execId)) {
    throw invalidArgument(`invalid exec id ${JSON.stringify(execId)}: use letters, digits, "_", "." and "-" (at most 128)`);
  }
  return execId;
}

/** Names the bus keeps for its own subjects (berth.node.*, berth.rpc.*). */
const RESERVED_NAMESPACES = new Set(['node', 'rpc']);

/** Throws INVALID_ARGUMENT unless `namespace` is a usable namespace. */
export function checkNamespace(namespace: string): string {
  if (!NAMESPACE.test(namespace)) {
    throw invalidArgument(`invalid namespace ${JSON.stringify(namespace)}: use letters, digits, "_" and "-" (at most 128)`);
  }
  if (RESERVED_NAMESPACES.has(namespace)) {
    throw invalidArgument(`invalid namespace ${JSON.stringify(namespace)}: "node" and "rpc" are reserved`);
  }
  return namespace;
}
