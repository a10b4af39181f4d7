// The images service's metadata store: one SQLite database (via @berth/store)
// holding content records, image records and leases. Tables are created by
// ordered migrations; never edit a shipped step, append a new one.
import { openStore, type Migration, type Store } from '@berth/store';

export type { Store };

const MIGRATIONS: Migration[] = [
  `CREATE TABLE content (
     digest     TEXT PRIMARY KEY,
     size       INTEGER NOT NULL,
     labels     TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE images (
     namespace  TEXT NOT NULL,
     name       TEXT NOT NULL,
     target     TEXT NOT NULL,
     labels     TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, name)
   );
   CREATE TABLE leases (
     id         TEXT PRIMARY KEY,
     labels     TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     expires_at INTEGER
   );
   CREATE TABLE lease_resources (
     lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
     kind     TEXT NOT NULL,
     resource TEXT NOT NULL,
     PRIMARY KEY (lease_id, kind, resource)
   );
   CREATE INDEX lease_resources_by_resource ON lease_resources(kind, resource);`,
];

/** Opens (creating or migrating) the images metadata database at `path` (":memory:" for tests). */
export function openImagesDb(path: string): Store {
  return openStore(path, MIGRATIONS);
}

/** Parses a JSON labels column; a corrupt value is reported, not silently emptied. */
export function parseLabels(json: string, what: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new Error(`corrupt labels for ${what}: ${(err as Error).message}`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`corrupt labels for ${what}: not an object`);
  }
  return value as Record<string, string>;
}
