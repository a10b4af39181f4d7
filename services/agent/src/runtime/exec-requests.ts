// Exec processes defined but not started yet. The Runtime API splits an exec
// in two (ExecProcess defines it, StartTask starts it, and a client may
// attach in between), so the definition is kept as a file in the container's
// state dir: a restarted agent can still start it, and deleting the
// container removes it with everything else.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@berth/store';
import { errnoCode } from '../errors.js';
import { containerPaths, type RuntimeLayout } from './layout.js';
import type { ExecOptions } from './types.js';

export type ExecDefinition = Omit<ExecOptions, 'attach' | 'execId'>;

interface ExecRequestFile {
  version: 1;
  execId: string;
  createdAt: string;
  options: ExecDefinition;
}

const SUFFIX = '.json';

export class ExecRequests {
  constructor(private readonly layout: RuntimeLayout) {}

  private file(id: string, execId: string): string {
    return join(containerPaths(this.layout, id).execRequestsDir, `${execId}${SUFFIX}`);
  }

  async add(id: string, execId: string, options: ExecDefinition): Promise<void> {
    await mkdir(containerPaths(this.layout, id).execRequestsDir, { recursive: true });
    const body: ExecRequestFile = { version: 1, execId, createdAt: new Date().toISOString(), options };
    // Not fsynced: a killed agent finds it as it is; a power loss ends the container it would run in.
    writeFileAtomic(this.file(id, execId), `${JSON.stringify(body)}\n`, 0o600, { durable: false });
  }

  /** The definition of a created exec, or undefined if there is none (never created, or started). */
  async get(id: string, execId: string): Promise<ExecDefinition | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(id, execId), 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    const parsed = JSON.parse(text) as ExecRequestFile;
    if (parsed.version !== 1 || parsed.execId !== execId) throw new Error(`exec request ${this.file(id, execId)} is not a version 1 request for ${execId}`);
    return parsed.options;
  }

  async remove(id: string, execId: string): Promise<void> {
    await rm(this.file(id, execId), { force: true });
  }

  /** Exec ids defined in `id` and not started. */
  async list(id: string): Promise<string[]> {
    const names = await readdir(containerPaths(this.layout, id).execRequestsDir).catch(() => [] as string[]);
    // writeFileAtomic's temp files (".tmp-berth-…") are not requests.
    return names.filter((n) => n.endsWith(SUFFIX) && !n.startsWith('.')).map((n) => n.slice(0, -SUFFIX.length)).sort();
  }
}
