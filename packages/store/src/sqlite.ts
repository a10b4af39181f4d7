import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Store = Database.Database;

/** A schema step; applied once, in order, inside one transaction with the bump of user_version. */
export type Migration = string | ((db: Store) => void);

/** Distinct SQL texts kept compiled per store; berth's are constants, far fewer. */
export const STATEMENT_CACHE_LIMIT = 256;

/** What a shared statement refuses: iterate leaves it busy, the toggles would carry over to its next user. */
const UNSHAREABLE = ['iterate', 'pluck', 'raw', 'expand'] as const;

/**
 * Makes db.prepare hand back one compiled statement per SQL text. Compiling
 * cost more than running most of berth's queries (in the tasks service, about
 * a third of a container update). A statement is shared by every caller of
 * its text, so it runs with run/get/all only: iterate and the pluck/raw/expand
 * toggles throw. Past the limit, texts are compiled each time, so SQL built
 * from values cannot grow the cache without bound.
 */
export function reusePreparedStatements(db: Store): void {
  const compile = db.prepare.bind(db);
  const compiled = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = compiled.get(sql);
    if (statement === undefined) {
      statement = compile(sql);
      for (const method of UNSHAREABLE) {
        statement[method] = () => {
          throw new Error(`${method}() on a shared prepared statement of a berth store (${sql}): use all() or get()`);
        };
      }
      if (compiled.size < STATEMENT_CACHE_LIMIT) compiled.set(sql, statement);
    }
    return statement;
  }) as Store['prepare'];
}

export interface StoreOptions {
  /**
   * When a commit reaches the disk. "full" (the default): each commit is
   * fsynced before it returns, so it survives a power loss. "normal": a
   * commit survives the process being killed at any moment (it is in the
   * kernel's cache once committed, and WAL keeps the file consistent), but a
   * power loss may take back the last ones; what must survive even that goes
   * through durableTransaction. On this kind of disk an fsync costs 0.3-1 ms
   * of a service's event loop (better-sqlite3 is synchronous).
   */
  synchronous?: 'full' | 'normal';
}

/** SQLite's values of PRAGMA synchronous. */
const SYNCHRONOUS = { normal: 1, full: 2 } as const;

/**
 * Opens a service's metadata store: SQLite in WAL mode, so a crash mid-way
 * leaves the previous state; commits are fsynced per `synchronous`.
 * Migrations run atomically, keyed by user_version.
 */
export function openStore(path: string, migrations: readonly Migration[], opts: StoreOptions = {}): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  reusePreparedStatements(db);
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    db.close();
    throw new Error(
      `store ${path} has schema version ${current}, newer than this build knows (${migrations.length}); refusing to open it`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    const step = migrations[v]!;
    db.transaction(() => {
      if (typeof step === 'string') db.exec(step);
      else step(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  // Migrations are always fsynced; the setting applies from here on.
  if (opts.synchronous === 'normal') db.pragma('synchronous = NORMAL');
  return db;
}

/**
 * Runs `fn` in a transaction whose commit is fsynced before this returns,
 * whatever the store's `synchronous`: for what must survive a power loss
 * (in WAL mode the fsync also covers every commit before it). It must not be
 * nested in another transaction, which would decide the commit instead.
 */
export function durableTransaction<T>(db: Store, fn: () => T): T {
  if (db.inTransaction) throw new Error('durableTransaction cannot run inside another transaction');
  const setting = db.pragma('synchronous', { simple: true }) as number;
  if (setting >= SYNCHRONOUS.full) return db.transaction(fn)();
  db.pragma('synchronous = FULL');
  try {
    return db.transaction(fn)();
  } finally {
    db.pragma(`synchronous = ${setting}`);
  }
}
