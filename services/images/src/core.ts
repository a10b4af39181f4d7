// The images core wired together: one state directory, one database, the
// content store, image records, leases, a registry client, and the
// operations over them. The gRPC service (written separately) wraps this.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ContentStore } from './content/store.js';
import { openImagesDb, type Store } from './db.js';
import type { EventSink } from './events.js';
import { collectGarbage, type GcResult } from './gc.js';
import { ImageStore } from './images.js';
import { LeaseManager } from './leases.js';
import { pull, type PullOptions, type PullResult } from './pull.js';
import { push, type PushOptions, type PushResult } from './push.js';
import { RegistryClient, type RegistryClientOptions } from './registry/client.js';
import { dockerConfigCredentials } from './registry/docker-config.js';
import { exportImages, type ExportOptions, type ExportResult } from './archive/export.js';
import { importArchive, type ImportOptions, type ImportResult } from './archive/import.js';

export interface ImagesCoreOptions {
  /** The service's state directory: content under <stateDir>/content, metadata in <stateDir>/images.db. */
  stateDir: string;
  /** Registry client settings; `credentials` defaults to reading `dockerConfigPath`. */
  registry?: RegistryClientOptions;
  /** A docker-style config.json for registry credentials (read on each lookup). */
  dockerConfigPath?: string;
  /** Receives images.* and content.* events (for NATS). */
  events?: EventSink;
  /** Ingests untouched this long are removed at open (default 24 h). */
  staleIngestMs?: number;
}

export class ImagesCore {
  readonly db: Store;
  readonly content: ContentStore;
  readonly images: ImageStore;
  readonly leases: LeaseManager;
  readonly registry: RegistryClient;
  readonly events: EventSink | undefined;

  private constructor(opts: ImagesCoreOptions) {
    mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    this.events = opts.events;
    this.db = openImagesDb(join(opts.stateDir, 'images.db'));
    this.content = ContentStore.open(join(opts.stateDir, 'content'), this.db);
    this.images = new ImageStore(this.db, opts.events);
    this.leases = new LeaseManager(this.db);
    const registryOptions: RegistryClientOptions = { ...opts.registry };
    if (!registryOptions.credentials && opts.dockerConfigPath) {
      registryOptions.credentials = dockerConfigCredentials(opts.dockerConfigPath);
    }
    this.registry = new RegistryClient(registryOptions);
  }

  /** Opens the state directory and removes ingests older than staleIngestMs. */
  static async open(opts: ImagesCoreOptions): Promise<ImagesCore> {
    const core = new ImagesCore(opts);
    core.content.clearTmp();
    await core.content.cleanupStaleIngests(opts.staleIngestMs ?? 24 * 3_600_000);
    return core;
  }

  pull(ref: string, opts: PullOptions): Promise<PullResult> {
    return pull(this, ref, { ...opts, events: opts.events ?? this.events });
  }

  push(name: string, destination: string, opts: PushOptions): Promise<PushResult> {
    return push(this, name, destination, { ...opts, events: opts.events ?? this.events });
  }

  gc(opts: { dryRun?: boolean } = {}): GcResult {
    return collectGarbage(this, { ...opts, ...(this.events ? { events: this.events } : {}) });
  }

  export(names: readonly string[], out: Writable, opts: ExportOptions): Promise<ExportResult> {
    return exportImages(this, names, out, opts);
  }

  import(input: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts: ImportOptions): Promise<ImportResult> {
    return importArchive(this, input, { ...opts, events: opts.events ?? this.events });
  }

  close(): void {
    this.registry.close();
    this.db.close();
  }
}
