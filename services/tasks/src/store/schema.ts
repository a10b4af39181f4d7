// The tasks service's metadata store: SQLite through @berth/store, one
// migration per schema version.
import { openStore, type Migration, type Store } from '@berth/store';

const V1 = `
CREATE TABLE containers (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  -- creating | created | running | paused | restarting | stopped | removing
  phase TEXT NOT NULL,
  -- none | creating | present: whether the node's agent holds a task (and its netns, attachments)
  task TEXT NOT NULL DEFAULT 'none',
  image_ref TEXT NOT NULL,
  image_name TEXT NOT NULL,
  image_id TEXT NOT NULL,
  image_target_json TEXT NOT NULL,
  chain_id TEXT NOT NULL,
  snapshotter TEXT NOT NULL,
  snapshot_key TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  image_config_json TEXT NOT NULL,
  runtime_spec_json TEXT NOT NULL,
  node_id TEXT NOT NULL,
  log_path TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  pid INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER,
  exit_code INTEGER,
  exit_signal INTEGER,
  exit_oom INTEGER,
  exited_at INTEGER,
  restart_count INTEGER NOT NULL DEFAULT 0,
  restart_delay_ms INTEGER NOT NULL DEFAULT 0,
  restart_at INTEGER,
  stopped_by_user INTEGER NOT NULL DEFAULT 0,
  netns_path TEXT NOT NULL DEFAULT '',
  networks_json TEXT NOT NULL DEFAULT '[]',
  name_files_json TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  -- set with phase "removing": keep the logs when the removal completes
  keep_logs_on_remove INTEGER NOT NULL DEFAULT 0,
  UNIQUE (namespace, name)
);
CREATE INDEX containers_by_namespace ON containers (namespace, created_at);

-- Every process exit seen, so that a redelivered exit is recognised.
CREATE TABLE exits (
  container_id TEXT NOT NULL,
  exec_id TEXT NOT NULL,
  exit_key TEXT NOT NULL,
  exit_code INTEGER NOT NULL,
  exit_signal INTEGER NOT NULL,
  exit_oom INTEGER NOT NULL,
  exited_at INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL,
  PRIMARY KEY (container_id, exec_id, exit_key)
);

-- Events that must reach the bus (tasks.exit), written with the change they report.
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  namespace TEXT NOT NULL,
  type TEXT NOT NULL,
  payload_json TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

-- Containers removed, so that a task the agent still holds for one is known to be berth's and unwanted.
CREATE TABLE tombstones (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  deleted_at INTEGER NOT NULL
);

CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL,
  agent_address TEXT NOT NULL,
  capacity_json TEXT NOT NULL,
  versions_json TEXT NOT NULL,
  labels_json TEXT NOT NULL,
  running_containers INTEGER NOT NULL,
  interval_seconds INTEGER NOT NULL,
  registered_at INTEGER NOT NULL,
  last_heartbeat_at INTEGER NOT NULL,
  state TEXT NOT NULL
);
`;

// Volumes' metadata; their data lives in directories under the state dir (volumes/store.ts).
const V2 = `
CREATE TABLE volumes (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  labels_json TEXT NOT NULL DEFAULT '{}',
  -- made for a mount that named no volume
  anonymous INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
);
`;

export const MIGRATIONS: readonly Migration[] = [V1, V2];

/**
 * Opens (creating or migrating) the tasks store at `path`; ":memory:" for
 * tests. A `run --rm` commits a dozen changes of phase, and an fsync of each
 * held the service's event loop for 0.3-1 ms: commits are not fsynced
 * (synchronous=NORMAL), which still survives any berth process being killed.
 * A power loss may take back the last changes, as it takes down every
 * container with them (reconcile then records those as exited); exits, the
 * one thing a power loss must not take back, are committed with
 * durableTransaction.
 */
export function openTasksStore(path: string): Store {
  return openStore(path, MIGRATIONS, { synchronous: 'normal' });
}
