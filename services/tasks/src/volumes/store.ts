// Volume records in SQLite and their directories under the state dir. The
// on-disk layout is the one berth always had for the default namespace,
// <state>/volumes/<name>/_data (Docker's too); other namespaces live under
// <state>/volumes/_namespaces/<namespace>/<name>/_data ("_" cannot start a
// volume name, so the two never meet). The record is written before the
// directory is made and removed after it is gone; directories left without a
// record (made before records existed, or by a crash) are adopted at start.
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_NAMESPACE } from '@berth/api';
import type { Store } from '@berth/store';
import { notFound } from '../errors.js';
import { VOLUME_NAME } from '../validate.js';

export interface VolumeRecord {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** Made for a mount that named no volume. */
  anonymous: boolean;
  createdAt: number;
}

interface Row {
  namespace: string;
  name: string;
  labels_json: string;
  anonymous: number;
  created_at: number;
}

const fromRow = (row: Row): VolumeRecord => ({
  namespace: row.namespace,
  name: row.name,
  labels: JSON.parse(row.labels_json) as Record<string, string>,
  anonymous: row.anonymous === 1,
  createdAt: row.created_at,
});

/** Names berth gave anonymous volumes before they had records: <container id>-<mount index>. */
const LEGACY_ANONYMOUS = /^[0-9a-f]{64}-\d+$/;

export class VolumeStore {
  constructor(
    private readonly db: Store,
    private readonly stateDir: string,
    private readonly now: () => number,
  ) {}

  /** The directory of a volume (holding _data). */
  dir(namespace: string, name: string): string {
    return namespace === DEFAULT_NAMESPACE
      ? join(this.stateDir, 'volumes', name)
      : join(this.stateDir, 'volumes', '_namespaces', namespace, name);
  }

  /** Host directory of a volume's data: what containers mount. */
  dataPath(namespace: string, name: string): string {
    return join(this.dir(namespace, name), '_data');
  }

  get(namespace: string, name: string): VolumeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM volumes WHERE namespace = ? AND name = ?').get(namespace, name) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  require(namespace: string, name: string): VolumeRecord {
    const found = this.get(namespace, name);
    if (!found) throw notFound(`no such volume: ${name}`);
    return found;
  }

  /** Volumes of a namespace, by name. */
  list(namespace: string): VolumeRecord[] {
    return (this.db.prepare('SELECT * FROM volumes WHERE namespace = ? ORDER BY name').all(namespace) as Row[]).map(fromRow);
  }

  /**
   * The volume, recorded and its data directory made if it is new; an
   * existing one is returned as it is. Synchronous, so a check-then-act by a
   * caller (e.g. a container create) cannot interleave with a removal.
   */
  ensure(namespace: string, name: string, opts: { labels?: Record<string, string>; anonymous?: boolean } = {}): { volume: VolumeRecord; created: boolean } {
    const existing = this.get(namespace, name);
    if (existing) {
      mkdirSync(this.dataPath(namespace, name), { recursive: true, mode: 0o755 });
      return { volume: existing, created: false };
    }
    const volume: VolumeRecord = { namespace, name, labels: { ...opts.labels }, anonymous: opts.anonymous === true, createdAt: this.now() };
    this.insert(volume);
    mkdirSync(this.dataPath(namespace, name), { recursive: true, mode: 0o755 });
    return { volume, created: true };
  }

  private insert(v: VolumeRecord): void {
    this.db
      .prepare('INSERT INTO volumes (namespace, name, labels_json, anonymous, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(v.namespace, v.name, JSON.stringify(v.labels), v.anonymous ? 1 : 0, v.createdAt);
  }

  /** Removes a volume's data, then its record. */
  remove(namespace: string, name: string): void {
    rmSync(this.dir(namespace, name), { recursive: true, force: true });
    this.db.prepare('DELETE FROM volumes WHERE namespace = ? AND name = ?').run(namespace, name);
  }

  /**
   * Records volume directories of the default namespace that have no record
   * (made before volumes had records, or a crash between the two), except
   * those `skip` names; returns their names.
   */
  adoptUnrecorded(skip: (name: string) => boolean = () => false): string[] {
    const root = join(this.stateDir, 'volumes');
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      return [];
    }
    const adopted: string[] = [];
    for (const name of names) {
      if (!VOLUME_NAME.test(name) || skip(name) || this.get(DEFAULT_NAMESPACE, name)) continue;
      let createdAt: number;
      try {
        const st = statSync(join(root, name));
        if (!st.isDirectory()) continue;
        createdAt = Math.floor(st.birthtimeMs || st.mtimeMs);
      } catch {
        continue;
      }
      this.insert({ namespace: DEFAULT_NAMESPACE, name, labels: {}, anonymous: LEGACY_ANONYMOUS.test(name), createdAt });
      adopted.push(name);
    }
    return adopted;
  }
}
