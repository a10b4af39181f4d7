import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Store = Database.Database;

/** A schema step; applied once, in order, inside one transaction with the bump of user_version. */
export type Migration = string | ((db: Store) => void);

/**
 * Opens a service's metadata store: SQLite in WAL mode with synchronous=FULL so
 * a committed transaction survives a kill -9 or power loss, and a crash mid-way
 * leaves the previous state. Migrations run atomically, keyed by user_version.
 */
export function openStore(path: string, migrations: readonly Migration[]): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
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
  return db;
}
