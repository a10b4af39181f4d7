import { openStore, type Migration, type Store } from '@berth/store';
import { SnapshotError } from './errors.js';

export type SnapshotKind = 'active' | 'view' | 'committed';
export type Labels = Record<string, string>;

export interface Usage {
  /** Bytes allocated on disk (st_blocks × 512, each inode once). */
  size: number;
  inodes: number;
}

export interface SnapshotRecord {
  /** Short numeric id: names the on-disk directory, so overlay option strings stay short. */
  id: number;
  key: string;
  kind: SnapshotKind;
  parent?: string;
  parentId?: number;
  labels: Labels;
  /** Belongs to an operation in progress (layer extraction, native copy); removed if found after a restart. */
  inFlight: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** Cached usage (committed snapshots only). */
  usage?: Usage;
}

const MIGRATIONS: Migration[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE snapshots (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     key TEXT NOT NULL UNIQUE,
     kind TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
     parent_id INTEGER REFERENCES snapshots(id) ON DELETE RESTRICT,
     labels TEXT NOT NULL DEFAULT '{}',
     in_flight INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     usage_size INTEGER,
     usage_inodes INTEGER
   );
   CREATE INDEX snapshots_parent ON snapshots(parent_id);`,
];

interface Row {
  id: number;
  key: string;
  kind: SnapshotKind;
  parent_id: number | null;
  parent_key: string | null;
  labels: string;
  in_flight: number;
  created_at: number;
  updated_at: number;
  usage_size: number | null;
  usage_inodes: number | null;
}

const SELECT = `SELECT s.*, p.key AS parent_key FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent_id`;

function toRecord(r: Row): SnapshotRecord {
  return {
    id: r.id,
    key: r.key,
    kind: r.kind,
    ...(r.parent_key !== null ? { parent: r.parent_key } : {}),
    ...(r.parent_id !== null ? { parentId: r.parent_id } : {}),
    labels: JSON.parse(r.labels) as Labels,
    inFlight: r.in_flight === 1,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    ...(r.usage_size !== null && r.usage_inodes !== null ? { usage: { size: r.usage_size, inodes: r.usage_inodes } } : {}),
  };
}

const MAX_LABEL_BYTES = 4096;

export function validateKey(key: string, what = 'snapshot key'): void {
  if (typeof key !== 'string' || key.length === 0) throw new SnapshotError('invalid_argument', `${what} must be a non-empty string`);
  if (key.includes('\0')) throw new SnapshotError('invalid_argument', `${what} ${JSON.stringify(key)} contains a NUL byte`);
  if (Buffer.byteLength(key) > 4096) throw new SnapshotError('invalid_argument', `${what} is longer than 4096 bytes`);
}

export function validateLabels(labels: Labels): void {
  for (const [k, v] of Object.entries(labels)) {
    if (k.length === 0) throw new SnapshotError('invalid_argument', 'label keys must be non-empty');
    if (typeof v !== 'string') throw new SnapshotError('invalid_argument', `label ${JSON.stringify(k)} must have a string value`);
    if (Buffer.byteLength(k) + Buffer.byteLength(v) > MAX_LABEL_BYTES) {
      throw new SnapshotError('invalid_argument', `label ${JSON.stringify(k)} is longer than ${MAX_LABEL_BYTES} bytes (key + value)`);
    }
  }
}

/**
 * Snapshot records in the service's own SQLite store. Every mutation is one
 * transaction; on-disk work that must happen together with a record change
 * runs inside it (`within`), so a failure rolls the record back.
 */
export class Metadata {
  private constructor(private readonly db: Store) {}

  static open(path: string): Metadata {
    return new Metadata(openStore(path, MIGRATIONS));
  }

  close(): void {
    this.db.close();
  }

  getMeta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  find(key: string): SnapshotRecord | undefined {
    const row = this.db.prepare(`${SELECT} WHERE s.key = ?`).get(key) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  get(key: string): SnapshotRecord {
    const rec = this.find(key);
    if (!rec) throw new SnapshotError('not_found', `snapshot ${JSON.stringify(key)} does not exist`);
    return rec;
  }

  list(): SnapshotRecord[] {
    return (this.db.prepare(`${SELECT} ORDER BY s.id`).all() as Row[]).map(toRecord);
  }

  children(key: string): string[] {
    return (
      this.db
        .prepare('SELECT c.key FROM snapshots c JOIN snapshots p ON c.parent_id = p.id WHERE p.key = ? ORDER BY c.id')
        .all(key) as { key: string }[]
    ).map((r) => r.key);
  }

  /** The record's ancestors, nearest first. */
  ancestors(rec: SnapshotRecord): SnapshotRecord[] {
    if (rec.parentId === undefined) return [];
    const rows = this.db
      .prepare(
        `WITH RECURSIVE chain(id, depth) AS (
           SELECT ?, 0
           UNION ALL SELECT s.parent_id, chain.depth + 1 FROM snapshots s JOIN chain ON s.id = chain.id WHERE s.parent_id IS NOT NULL
         )
         SELECT s.*, p.key AS parent_key FROM chain JOIN snapshots s ON s.id = chain.id
         LEFT JOIN snapshots p ON p.id = s.parent_id ORDER BY chain.depth`,
      )
      .all(rec.parentId) as Row[];
    return rows.map(toRecord);
  }

  /**
   * Creates a record. The parent must be committed. `within(id)` runs inside
   * the transaction (it creates the directories): if it throws, no record.
   */
  create(
    input: { key: string; kind: 'active' | 'view'; parent?: string; labels: Labels; inFlight: boolean },
    within: (id: number) => void,
  ): SnapshotRecord {
    validateKey(input.key);
    validateLabels(input.labels);
    return this.db.transaction(() => {
      if (this.find(input.key)) throw new SnapshotError('already_exists', `snapshot ${JSON.stringify(input.key)} already exists`);
      let parentId: number | null = null;
      if (input.parent !== undefined && input.parent !== '') {
        const parent = this.find(input.parent);
        if (!parent) throw new SnapshotError('not_found', `parent snapshot ${JSON.stringify(input.parent)} does not exist`);
        if (parent.kind !== 'committed') {
          throw new SnapshotError(
            'failed_precondition',
            `parent snapshot ${JSON.stringify(input.parent)} is ${parent.kind}; only committed snapshots can be parents`,
          );
        }
        parentId = parent.id;
      }
      const now = Date.now();
      const info = this.db
        .prepare(
          'INSERT INTO snapshots (key, kind, parent_id, labels, in_flight, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(input.key, input.kind, parentId, JSON.stringify(input.labels), input.inFlight ? 1 : 0, now, now);
      const id = Number(info.lastInsertRowid);
      within(id);
      return this.get(input.key);
    })();
  }

  /** Marks an in-flight record as finished (its directory is complete). */
  settle(key: string): void {
    this.db.prepare('UPDATE snapshots SET in_flight = 0 WHERE key = ?').run(key);
  }

  /**
   * Active → committed under a new name, in one transaction; the directory
   * (named by id) stays where it is. Labels: replaced when given, else kept.
   */
  commit(name: string, key: string, labels?: Labels): SnapshotRecord {
    validateKey(name, 'commit name');
    if (labels) validateLabels(labels);
    return this.db.transaction(() => {
      const rec = this.get(key);
      if (rec.kind !== 'active') {
        throw new SnapshotError('failed_precondition', `snapshot ${JSON.stringify(key)} is ${rec.kind}; only active snapshots can be committed`);
      }
      if (this.find(name)) throw new SnapshotError('already_exists', `snapshot ${JSON.stringify(name)} already exists`);
      this.db
        .prepare("UPDATE snapshots SET key = ?, kind = 'committed', labels = ?, in_flight = 0, updated_at = ? WHERE id = ?")
        .run(name, JSON.stringify(labels ?? rec.labels), Date.now(), rec.id);
      return this.get(name);
    })();
  }

  /** Deletes a record; refused while other snapshots have it as parent. */
  remove(key: string): SnapshotRecord {
    return this.db.transaction(() => {
      const rec = this.get(key);
      const children = this.children(key);
      if (children.length > 0) {
        const shown = children.slice(0, 10).map((c) => JSON.stringify(c)).join(', ');
        const more = children.length > 10 ? ` and ${children.length - 10} more` : '';
        throw new SnapshotError(
          'failed_precondition',
          `snapshot ${JSON.stringify(key)} cannot be removed: it is the parent of ${shown}${more}`,
        );
      }
      this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(rec.id);
      return rec;
    })();
  }

  setLabels(key: string, labels: Labels): SnapshotRecord {
    validateLabels(labels);
    return this.db.transaction(() => {
      const rec = this.get(key);
      this.db.prepare('UPDATE snapshots SET labels = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(labels), Date.now(), rec.id);
      return this.get(key);
    })();
  }

  setUsage(key: string, usage: Usage): void {
    this.db.prepare('UPDATE snapshots SET usage_size = ?, usage_inodes = ? WHERE key = ?').run(usage.size, usage.inodes, key);
  }
}
