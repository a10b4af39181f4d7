// Leases protect content from the GC while something is working with it
// (a pull, an import, a client's multi-step write). Persisted in SQLite, so a
// crash mid-pull keeps the pulled blobs until the lease expires, and a retry
// can reuse them. Expired leases are dropped by the GC.
import { randomBytes } from 'node:crypto';
import type { Digest } from '@berth/oci';
import type { Store } from './db.js';
import { parseLabels } from './db.js';
import { alreadyExists, invalidArgument, notFound } from './errors.js';
import { validateLabels, type Labels } from './labels.js';

/** What a lease holds: committed content by digest, or an ingest by ref. */
export interface LeaseResource {
  kind: 'content' | 'ingest';
  id: string;
}

export interface Lease {
  id: string;
  labels: Labels;
  createdAt: Date;
  /** Undefined: until deleted. */
  expiresAt?: Date;
}

export interface CreateLeaseOptions {
  id?: string;
  labels?: Labels;
  /** Lifetime in ms; undefined for no expiry. */
  ttlMs?: number;
}

interface LeaseRow {
  id: string;
  labels: string;
  created_at: number;
  expires_at: number | null;
}

function rowToLease(r: LeaseRow): Lease {
  return {
    id: r.id,
    labels: parseLabels(r.labels, `lease ${r.id}`),
    createdAt: new Date(r.created_at),
    ...(r.expires_at !== null ? { expiresAt: new Date(r.expires_at) } : {}),
  };
}

export class LeaseManager {
  constructor(
    private readonly db: Store,
    private readonly now: () => number = Date.now,
  ) {}

  create(opts: CreateLeaseOptions = {}): Lease {
    const id = opts.id ?? `lease-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    if (id === '') throw invalidArgument('lease id must not be empty');
    const labels = validateLabels(opts.labels ?? {}, `lease ${id}`);
    if (opts.ttlMs !== undefined && !(opts.ttlMs > 0)) throw invalidArgument(`lease ${id}: ttl must be positive`);
    const now = this.now();
    const expires = opts.ttlMs !== undefined ? now + opts.ttlMs : null;
    const result = this.db
      .prepare('INSERT OR IGNORE INTO leases (id, labels, created_at, expires_at) VALUES (?, ?, ?, ?)')
      .run(id, JSON.stringify(labels), now, expires);
    if (result.changes === 0) throw alreadyExists(`lease ${id} already exists`);
    return this.get(id);
  }

  get(id: string): Lease {
    const row = this.db.prepare('SELECT * FROM leases WHERE id = ?').get(id) as LeaseRow | undefined;
    if (!row) throw notFound(`lease ${id} not found`);
    return rowToLease(row);
  }

  list(): Lease[] {
    return (this.db.prepare('SELECT * FROM leases ORDER BY created_at, id').all() as LeaseRow[]).map(rowToLease);
  }

  /** Deletes a lease (its resources become collectable); NOT_FOUND when absent. */
  delete(id: string): void {
    const result = this.db.prepare('DELETE FROM leases WHERE id = ?').run(id);
    if (result.changes === 0) throw notFound(`lease ${id} not found`);
  }

  /** Moves a lease's expiry to `ttlMs` from now (a long pull keeps its lease alive as it goes). */
  renew(id: string, ttlMs: number): void {
    if (!(ttlMs > 0)) throw invalidArgument(`lease ${id}: ttl must be positive`);
    const result = this.db.prepare('UPDATE leases SET expires_at = ? WHERE id = ?').run(this.now() + ttlMs, id);
    if (result.changes === 0) throw notFound(`lease ${id} not found (expired and collected?)`);
  }

  /** Deletes a lease if it still exists (it may have expired and been collected); true when it did. */
  release(id: string): boolean {
    return this.db.prepare('DELETE FROM leases WHERE id = ?').run(id).changes > 0;
  }

  addResource(id: string, resource: LeaseResource): void {
    this.get(id);
    this.db
      .prepare('INSERT OR IGNORE INTO lease_resources (lease_id, kind, resource) VALUES (?, ?, ?)')
      .run(id, resource.kind, resource.id);
  }

  removeResource(id: string, resource: LeaseResource): void {
    this.db
      .prepare('DELETE FROM lease_resources WHERE lease_id = ? AND kind = ? AND resource = ?')
      .run(id, resource.kind, resource.id);
  }

  resources(id: string): LeaseResource[] {
    this.get(id);
    return (
      this.db.prepare('SELECT kind, resource FROM lease_resources WHERE lease_id = ? ORDER BY kind, resource').all(id) as {
        kind: LeaseResource['kind'];
        resource: string;
      }[]
    ).map((r) => ({ kind: r.kind, id: r.resource }));
  }

  /** Removes expired leases; returns their ids. */
  expire(): string[] {
    const now = this.now();
    const ids = (
      this.db.prepare('SELECT id FROM leases WHERE expires_at IS NOT NULL AND expires_at <= ?').all(now) as { id: string }[]
    ).map((r) => r.id);
    this.db.prepare('DELETE FROM leases WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now);
    return ids;
  }

  /** Digests held by unexpired leases (GC roots). */
  leasedContent(): Set<Digest> {
    const rows = this.db
      .prepare(
        `SELECT DISTINCT r.resource FROM lease_resources r JOIN leases l ON l.id = r.lease_id
         WHERE r.kind = 'content' AND (l.expires_at IS NULL OR l.expires_at > ?)`,
      )
      .all(this.now()) as { resource: string }[];
    return new Set(rows.map((r) => r.resource as Digest));
  }
}
