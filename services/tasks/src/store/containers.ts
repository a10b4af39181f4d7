// Container records in SQLite: CRUD, docker-style lookup (id, name, unique
// id prefix) within a namespace, and tombstones of removed containers.
import { durableTransaction, type Store } from '@berth/store';
import { tasks, types } from '@berth/api';
import { alreadyExists, invalidArgument, notFound } from '../errors.js';
import type { ContainerPhase, ContainerRecord, TaskPresence } from '../records.js';

interface Row {
  id: string;
  namespace: string;
  name: string;
  phase: string;
  task: string;
  image_ref: string;
  image_name: string;
  image_id: string;
  image_target_json: string;
  chain_id: string;
  snapshotter: string;
  snapshot_key: string;
  spec_json: string;
  image_config_json: string;
  runtime_spec_json: string;
  node_id: string;
  log_path: string;
  created_at: number;
  updated_at: number;
  pid: number;
  started_at: number | null;
  exit_code: number | null;
  exit_signal: number | null;
  exit_oom: number | null;
  exited_at: number | null;
  restart_count: number;
  restart_delay_ms: number;
  restart_at: number | null;
  stopped_by_user: number;
  netns_path: string;
  networks_json: string;
  name_files_json: string;
  error: string;
  keep_logs_on_remove: number;
}

function fromRow(row: Row): ContainerRecord {
  return {
    id: row.id,
    namespace: row.namespace,
    name: row.name,
    phase: row.phase as ContainerPhase,
    task: row.task as TaskPresence,
    imageRef: row.image_ref,
    imageName: row.image_name,
    imageId: row.image_id,
    imageTarget: types.Descriptor.fromJSON(JSON.parse(row.image_target_json)),
    chainId: row.chain_id,
    snapshotter: row.snapshotter,
    snapshotKey: row.snapshot_key,
    spec: tasks.ContainerSpec.fromJSON(JSON.parse(row.spec_json)),
    imageConfig: JSON.parse(row.image_config_json),
    runtimeSpec: JSON.parse(row.runtime_spec_json),
    nodeId: row.node_id,
    logPath: row.log_path,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    pid: row.pid,
    startedAt: row.started_at ?? undefined,
    exit:
      row.exit_code === null
        ? undefined
        : {
            exitCode: row.exit_code,
            signal: row.exit_signal ?? 0,
            oomKilled: row.exit_oom === 1,
            exitedAt: row.exited_at ?? 0,
          },
    restartCount: row.restart_count,
    restartDelayMs: row.restart_delay_ms,
    restartAt: row.restart_at ?? undefined,
    stoppedByUser: row.stopped_by_user === 1,
    netnsPath: row.netns_path,
    networks: JSON.parse(row.networks_json),
    nameFiles: row.name_files_json === '' ? undefined : JSON.parse(row.name_files_json),
    error: row.error,
    keepLogsOnRemove: row.keep_logs_on_remove === 1,
  };
}

function toRow(r: ContainerRecord): Row {
  return {
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    phase: r.phase,
    task: r.task,
    image_ref: r.imageRef,
    image_name: r.imageName,
    image_id: r.imageId,
    image_target_json: JSON.stringify(types.Descriptor.toJSON(r.imageTarget)),
    chain_id: r.chainId,
    snapshotter: r.snapshotter,
    snapshot_key: r.snapshotKey,
    spec_json: JSON.stringify(tasks.ContainerSpec.toJSON(r.spec)),
    image_config_json: JSON.stringify(r.imageConfig),
    runtime_spec_json: JSON.stringify(r.runtimeSpec),
    node_id: r.nodeId,
    log_path: r.logPath,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    pid: r.pid,
    started_at: r.startedAt ?? null,
    exit_code: r.exit?.exitCode ?? null,
    exit_signal: r.exit?.signal ?? null,
    exit_oom: r.exit === undefined ? null : r.exit.oomKilled ? 1 : 0,
    exited_at: r.exit?.exitedAt ?? null,
    restart_count: r.restartCount,
    restart_delay_ms: r.restartDelayMs,
    restart_at: r.restartAt ?? null,
    stopped_by_user: r.stoppedByUser ? 1 : 0,
    netns_path: r.netnsPath,
    networks_json: JSON.stringify(r.networks),
    name_files_json: r.nameFiles === undefined ? '' : JSON.stringify(r.nameFiles),
    error: r.error,
    keep_logs_on_remove: r.keepLogsOnRemove ? 1 : 0,
  };
}

/** Phases a lookup does not see: the record is half-made. */
const HIDDEN_PHASES: ContainerPhase[] = ['creating'];

export interface Tombstone {
  id: string;
  namespace: string;
  name: string;
  deletedAt: number;
}

export class ContainerStore {
  private readonly columns: string[];

  constructor(
    readonly db: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.columns = db
      .prepare('SELECT * FROM containers LIMIT 0')
      .columns()
      .map((c) => c.name);
  }

  /** Runs `fn` in one transaction (which a power loss may take back; see openTasksStore). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Runs `fn` in one transaction that is on disk when this returns: for exits, which are never lost. */
  durableTransaction<T>(fn: () => T): T {
    return durableTransaction(this.db, fn);
  }

  /** Inserts a new record; ALREADY_EXISTS naming the holder when the name or id is taken. */
  insert(record: ContainerRecord): void {
    const clash = this.db
      .prepare('SELECT id, phase FROM containers WHERE (namespace = ? AND name = ?) OR id = ?')
      .get(record.namespace, record.name, record.id) as { id: string; phase: string } | undefined;
    if (clash) {
      if (clash.id === record.id) throw alreadyExists(`container id ${record.id} is already in use`);
      throw alreadyExists(
        `the container name "/${record.name}" is already in use by container "${clash.id}"${clash.phase === 'creating' ? ' (being created)' : ''}; remove or rename that container to reuse the name`,
      );
    }
    const row = toRow(record);
    const cols = this.columns;
    this.db
      .prepare(`INSERT INTO containers (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`)
      .run(row);
  }

  /** Writes the whole record back (updated_at is set now); false when it no longer exists. */
  save(record: ContainerRecord): boolean {
    record.updatedAt = this.now();
    const row = toRow(record);
    const cols = this.columns.filter((c) => c !== 'id');
    const info = this.db.prepare(`UPDATE containers SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`).run(row);
    return info.changes === 1;
  }

  /** Applies `change` to the stored record and saves it; the updated record, or undefined when gone. */
  update(id: string, change: (record: ContainerRecord) => void): ContainerRecord | undefined {
    return this.transaction(() => {
      const record = this.get(id);
      if (!record) return undefined;
      change(record);
      this.save(record);
      return record;
    });
  }

  /**
   * Sets some fields of the stored record, leaving the others as stored (so a
   * concurrent change to other fields is kept); the updated record, or
   * undefined when it no longer exists.
   */
  patch(id: string, fields: Partial<Omit<ContainerRecord, 'id'>>): ContainerRecord | undefined {
    return this.update(id, (record) => Object.assign(record, fields));
  }

  /** The record with this full id (any namespace, any phase). */
  get(id: string): ContainerRecord | undefined {
    const row = this.db.prepare('SELECT * FROM containers WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /**
   * Docker-style lookup in a namespace: the full id, then the name (with or
   * without a leading "/"), then a unique id prefix. NOT_FOUND when nothing
   * matches; INVALID_ARGUMENT for an ambiguous prefix.
   */
  resolve(namespace: string, ref: string): ContainerRecord {
    if (ref === '') throw invalidArgument('no container id or name given');
    const hidden = HIDDEN_PHASES.map(() => '?').join(', ');
    const byId = this.db
      .prepare(`SELECT * FROM containers WHERE namespace = ? AND id = ? AND phase NOT IN (${hidden})`)
      .get(namespace, ref, ...HIDDEN_PHASES) as Row | undefined;
    if (byId) return fromRow(byId);
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const byName = this.db
      .prepare(`SELECT * FROM containers WHERE namespace = ? AND name = ? AND phase NOT IN (${hidden})`)
      .get(namespace, name, ...HIDDEN_PHASES) as Row | undefined;
    if (byName) return fromRow(byName);
    if (/^[0-9a-f]{1,63}$/.test(ref)) {
      const rows = this.db
        .prepare(
          `SELECT * FROM containers WHERE namespace = ? AND id >= ? AND id < ? AND phase NOT IN (${hidden}) ORDER BY id LIMIT 2`,
        )
        .all(namespace, ref, `${ref}g`, ...HIDDEN_PHASES) as Row[];
      if (rows.length === 1) return fromRow(rows[0]!);
      if (rows.length > 1) {
        throw invalidArgument(`multiple containers match the id prefix "${ref}" (${rows.map((r) => r.id.slice(0, 12)).join(', ')}, ...): give more of the id`);
      }
    }
    throw notFound(`no such container: ${ref}`);
  }

  /** Records of a namespace that lookups see, newest first. */
  list(namespace: string): ContainerRecord[] {
    const hidden = HIDDEN_PHASES.map(() => '?').join(', ');
    return (
      this.db
        .prepare(`SELECT * FROM containers WHERE namespace = ? AND phase NOT IN (${hidden}) ORDER BY created_at DESC, rowid DESC`)
        .all(namespace, ...HIDDEN_PHASES) as Row[]
    ).map(fromRow);
  }

  /** Every record of every namespace and phase (for reconcile). */
  all(): ContainerRecord[] {
    return (this.db.prepare('SELECT * FROM containers ORDER BY created_at').all() as Row[]).map(fromRow);
  }

  /** The id of the container holding `name` in the namespace, if any (half-made ones included). */
  nameHolder(namespace: string, name: string): string | undefined {
    const row = this.db.prepare('SELECT id FROM containers WHERE namespace = ? AND name = ?').get(namespace, name) as
      | { id: string }
      | undefined;
    return row?.id;
  }

  /** Deletes a record that was never visible (a create that failed), without a tombstone. */
  discard(id: string): void {
    this.db.prepare('DELETE FROM containers WHERE id = ?').run(id);
  }

  /** Removes the record and leaves a tombstone, in one transaction. */
  remove(id: string): boolean {
    return this.transaction(() => {
      const record = this.get(id);
      if (!record) return false;
      this.db.prepare('DELETE FROM containers WHERE id = ?').run(id);
      this.db
        .prepare('INSERT OR REPLACE INTO tombstones (id, namespace, name, deleted_at) VALUES (?, ?, ?, ?)')
        .run(id, record.namespace, record.name, this.now());
      return true;
    });
  }

  /** The tombstone of a removed container, if it was removed here. */
  tombstone(id: string): Tombstone | undefined {
    const row = this.db.prepare('SELECT id, namespace, name, deleted_at FROM tombstones WHERE id = ?').get(id) as
      | { id: string; namespace: string; name: string; deleted_at: number }
      | undefined;
    return row ? { id: row.id, namespace: row.namespace, name: row.name, deletedAt: row.deleted_at } : undefined;
  }
}
