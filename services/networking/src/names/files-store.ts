// Where a container's /etc/hosts, /etc/hostname and /etc/resolv.conf live on
// the host (bind-mounted into the container by the runtime), with the request
// they were built from so they can be rebuilt when attachments change. The
// paths handed out are this process's; the agent's runtime bind-mounts them,
// so both must see the state root at the same path (as the helm chart mounts it).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateContainerId } from '@berth/cni';
import { writeFileAtomic } from '@berth/store';
import { asInvalid } from '../errors.js';
import type { ContainerFiles, ContainerFilesOptions } from './container-files.js';

/** What the files of a container were asked to say. */
export interface FilesRequest {
  options: ContainerFilesOptions;
  hostNetwork: boolean;
}

export interface FilePaths {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

const REQUEST_FILE = 'request.json';

export class ContainerFilesStore {
  constructor(private readonly root: string) {}

  private dirOf(containerId: string): string {
    asInvalid(() => validateContainerId(containerId));
    return join(this.root, containerId);
  }

  pathsOf(containerId: string): FilePaths {
    const dir = this.dirOf(containerId);
    return { hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname'), resolvConf: join(dir, 'resolv.conf') };
  }

  /** Writes (or replaces, before the container starts) a container's files and remembers the request. */
  prepare(containerId: string, request: FilesRequest, files: ContainerFiles): FilePaths {
    const dir = this.dirOf(containerId);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const paths = this.pathsOf(containerId);
    // Made again for every task the container gets, so never worth an fsync
    // (four files, two each, on every start); a killed writer still leaves each whole.
    const volatile = { durable: false };
    writeFileAtomic(paths.hosts, files.hosts, 0o644, volatile);
    writeFileAtomic(paths.hostname, files.hostname, 0o644, volatile);
    writeFileAtomic(paths.resolvConf, files.resolvConf, 0o644, volatile);
    writeFileAtomic(join(dir, REQUEST_FILE), JSON.stringify(request), 0o600, volatile);
    return paths;
  }

  /** The request a container's files were prepared with; undefined when they were not (or were removed). */
  requestOf(containerId: string): FilesRequest | undefined {
    const file = join(this.dirOf(containerId), REQUEST_FILE);
    if (!existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as FilesRequest;
  }

  /**
   * Rewrites prepared files in place. Not by rename: a running container's
   * bind mounts hold the old inode and would never see a renamed file.
   */
  rewrite(containerId: string, files: ContainerFiles): void {
    const paths = this.pathsOf(containerId);
    writeFileSync(paths.hosts, files.hosts);
    writeFileSync(paths.hostname, files.hostname);
    writeFileSync(paths.resolvConf, files.resolvConf);
  }

  remove(containerId: string): void {
    rmSync(this.dirOf(containerId), { recursive: true, force: true });
  }

  /** Containers that have files here, ordered. */
  containerIds(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  }
}
