// The container record: how a container was created, written once
// (atomically) before conmon starts. Everything else about a container is
// read from reality (runc state, conmon's files) when asked.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '@berth/store';
import type { Mount as MountSpec } from '@berth/mount';
import { errnoCode } from '../errors.js';

export interface ContainerRecord {
  version: 1;
  id: string;
  /** Absolute bundle directory (holds config.json, and conmon's ctl/winsz fifos and attach socket). */
  bundle: string;
  /** True when the agent made the bundle (inside the state dir) and removes it on delete. */
  ownsBundle: boolean;
  /** Absolute rootfs path (bundle + spec.root.path). */
  rootfs: string;
  /** Mounts the agent put on the rootfs at create and takes off at delete. */
  rootfsMounts: MountSpec[];
  tty: boolean;
  stdin: boolean;
  stdinOnce: boolean;
  logPath: string;
  /** Rotate the log when it reaches this many bytes (0: never). */
  logMaxSize: number;
  /** Files kept by rotation, the live one included. */
  logMaxFiles: number;
  /** linux.cgroupsPath from the spec, for stats after the init process is gone. */
  cgroupsPath: string | undefined;
  createdAt: string;
}

export function writeRecord(path: string, record: ContainerRecord): void {
  // Not fsynced: it outlives a killed agent as it is, and a power loss also
  // ends the container it describes (recover() discards a record it cannot read).
  writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`, 0o600, { durable: false });
}

/**
 * The record, or undefined if there is none (a create that crashed before writing it).
 * Read synchronously: a few hundred bytes, read on every operation, and each
 * trip through libuv's busy threadpool (open, stat, read, close) costs more
 * than the read itself.
 */
export async function readRecord(path: string): Promise<ContainerRecord | undefined> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as ContainerRecord;
  if (parsed.version !== 1 || typeof parsed.id !== 'string' || typeof parsed.bundle !== 'string') {
    throw new Error(`container record ${path} is not a version 1 record`);
  }
  return parsed;
}
