// Whether the services a command talks to are there at all, decided from
// their sockets before the command loads gRPC and the API (which is most of
// its start-up time), so "the stack is not running" is instant.
import { existsSync } from 'node:fs';
import { runtimeDirOf, socketOf, type GlobalOptions, type ServiceName } from '../stack-options.js';
import { stackNotRunning } from './errors.js';

/** Throws StackNotRunningError, saying how to start berth, for the first service whose socket is absent. */
export function requireSockets(g: GlobalOptions, services: readonly ServiceName[], exists: (path: string) => boolean = existsSync): void {
  const runtimeDir = runtimeDirOf(g);
  for (const service of services) {
    const socket = socketOf(runtimeDir, service);
    if (!exists(socket)) throw stackNotRunning(service, socket, 'no socket there');
  }
}
