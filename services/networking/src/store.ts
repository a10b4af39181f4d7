import type { CniResult, NetworkConfigList } from '@berth/cni';
import { openStore, type Migration, type Store } from '@berth/store';
import type { Attachment, AttachmentState, Network } from './network-model.js';
import type { PortMapping } from './ports.js';

const MIGRATIONS: Migration[] = [
  `CREATE TABLE networks (
     id         TEXT PRIMARY KEY,
     name       TEXT NOT NULL UNIQUE,
     driver     TEXT NOT NULL,
     bridge     TEXT UNIQUE,
     parent     TEXT,
     subnets    TEXT NOT NULL,
     internal   INTEGER NOT NULL,
     labels     TEXT NOT NULL,
     options    TEXT NOT NULL,
     is_default INTEGER NOT NULL,
     dns        INTEGER NOT NULL,
     created    TEXT NOT NULL,
     conflist   TEXT NOT NULL
   );
   CREATE TABLE attachments (
     container_id   TEXT NOT NULL,
     network_id     TEXT NOT NULL REFERENCES networks(id),
     container_name TEXT,
     node           TEXT NOT NULL,
     state          TEXT NOT NULL CHECK (state IN ('planned', 'attached')),
     netns          TEXT NOT NULL,
     ifname         TEXT NOT NULL,
     ips            TEXT NOT NULL,
     gateways       TEXT NOT NULL,
     mac            TEXT,
     aliases        TEXT NOT NULL,
     ports          TEXT NOT NULL,
     requested      TEXT NOT NULL,
     conflist       TEXT,
     capability_args TEXT NOT NULL,
     created        TEXT NOT NULL,
     PRIMARY KEY (container_id, network_id)
   );
   CREATE INDEX attachments_by_network ON attachments(network_id);`,
  // The CNI ADD result as the plugins reported it, so the API can hand it out unchanged.
  `ALTER TABLE attachments ADD COLUMN cni_result TEXT`,
];

interface NetworkRow {
  id: string;
  name: string;
  driver: string;
  bridge: string | null;
  parent: string | null;
  subnets: string;
  internal: number;
  labels: string;
  options: string;
  is_default: number;
  dns: number;
  created: string;
  conflist: string;
}

interface AttachmentRow {
  container_id: string;
  network_id: string;
  network_name: string;
  container_name: string | null;
  node: string;
  state: AttachmentState;
  netns: string;
  ifname: string;
  ips: string;
  gateways: string;
  mac: string | null;
  aliases: string;
  ports: string;
  requested: string;
  conflist: string | null;
  capability_args: string;
  created: string;
  cni_result: string | null;
}

/** An attachment with what DEL and CHECK need: the exact conflist and capability args its ADD used. */
export interface StoredAttachment extends Attachment {
  conflist: NetworkConfigList | undefined;
  capabilityArgs: Record<string, unknown>;
  /** The CNI ADD result (attached CNI attachments only). */
  cniResult?: CniResult | undefined;
}

export interface StoredNetwork extends Network {
  conflist: NetworkConfigList | undefined;
}

function toNetwork(r: NetworkRow): StoredNetwork {
  const n: StoredNetwork = {
    id: r.id,
    name: r.name,
    driver: r.driver as Network['driver'],
    subnets: JSON.parse(r.subnets) as Network['subnets'],
    internal: r.internal === 1,
    labels: JSON.parse(r.labels) as Record<string, string>,
    options: JSON.parse(r.options) as Record<string, string>,
    isDefault: r.is_default === 1,
    dns: r.dns === 1,
    created: r.created,
    conflist: r.conflist === '' ? undefined : (JSON.parse(r.conflist) as NetworkConfigList),
  };
  if (r.bridge !== null) n.bridge = r.bridge;
  if (r.parent !== null) n.parent = r.parent;
  return n;
}

function toAttachment(r: AttachmentRow): StoredAttachment {
  return {
    containerId: r.container_id,
    containerName: r.container_name ?? undefined,
    networkId: r.network_id,
    networkName: r.network_name,
    node: r.node,
    state: r.state,
    netns: r.netns,
    ifname: r.ifname,
    ips: JSON.parse(r.ips) as string[],
    gateways: JSON.parse(r.gateways) as string[],
    mac: r.mac ?? undefined,
    aliases: JSON.parse(r.aliases) as string[],
    ports: JSON.parse(r.ports) as PortMapping[],
    requested: JSON.parse(r.requested) as Attachment['requested'],
    created: r.created,
    conflist: r.conflist === null ? undefined : (JSON.parse(r.conflist) as NetworkConfigList),
    capabilityArgs: JSON.parse(r.capability_args) as Record<string, unknown>,
    cniResult: r.cni_result === null ? undefined : (JSON.parse(r.cni_result) as CniResult),
  };
}

const ATTACHMENT_SELECT = `SELECT a.*, n.name AS network_name FROM attachments a JOIN networks n ON n.id = a.network_id`;

/** The networking service's records: networks and attachments, in one SQLite file. */
export class NetworkingStore {
  readonly db: Store;

  private constructor(db: Store) {
    this.db = db;
  }

  static open(path: string): NetworkingStore {
    return new NetworkingStore(openStore(path, MIGRATIONS));
  }

  close(): void {
    this.db.close();
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  insertNetwork(n: Network, conflist: NetworkConfigList | undefined): void {
    this.db
      .prepare(
        `INSERT INTO networks (id, name, driver, bridge, parent, subnets, internal, labels, options, is_default, dns, created, conflist)
         VALUES (@id, @name, @driver, @bridge, @parent, @subnets, @internal, @labels, @options, @is_default, @dns, @created, @conflist)`,
      )
      .run({
        id: n.id,
        name: n.name,
        driver: n.driver,
        bridge: n.bridge ?? null,
        parent: n.parent ?? null,
        subnets: JSON.stringify(n.subnets),
        internal: n.internal ? 1 : 0,
        labels: JSON.stringify(n.labels),
        options: JSON.stringify(n.options),
        is_default: n.isDefault ? 1 : 0,
        dns: n.dns ? 1 : 0,
        created: n.created,
        conflist: conflist ? JSON.stringify(conflist) : '',
      });
  }

  listNetworks(): StoredNetwork[] {
    return (this.db.prepare('SELECT * FROM networks ORDER BY rowid').all() as NetworkRow[]).map(toNetwork);
  }

  /** By exact name, exact id, or an unambiguous id prefix. */
  findNetwork(ref: string): StoredNetwork | undefined | 'ambiguous' {
    const exact = this.db.prepare('SELECT * FROM networks WHERE name = ? OR id = ?').get(ref, ref) as NetworkRow | undefined;
    if (exact) return toNetwork(exact);
    if (!/^[0-9a-f]{3,}$/.test(ref)) return undefined;
    const rows = this.db.prepare(`SELECT * FROM networks WHERE substr(id, 1, ?) = ?`).all(ref.length, ref) as NetworkRow[];
    if (rows.length > 1) return 'ambiguous';
    return rows[0] ? toNetwork(rows[0]) : undefined;
  }

  deleteNetwork(id: string): void {
    this.db.prepare('DELETE FROM networks WHERE id = ?').run(id);
  }

  insertAttachment(a: StoredAttachment): void {
    this.db
      .prepare(
        `INSERT INTO attachments (container_id, network_id, container_name, node, state, netns, ifname, ips, gateways, mac,
                                  aliases, ports, requested, conflist, capability_args, created)
         VALUES (@container_id, @network_id, @container_name, @node, @state, @netns, @ifname, @ips, @gateways, @mac,
                 @aliases, @ports, @requested, @conflist, @capability_args, @created)`,
      )
      .run({
        container_id: a.containerId,
        network_id: a.networkId,
        container_name: a.containerName ?? null,
        node: a.node,
        state: a.state,
        netns: a.netns,
        ifname: a.ifname,
        ips: JSON.stringify(a.ips),
        gateways: JSON.stringify(a.gateways),
        mac: a.mac ?? null,
        aliases: JSON.stringify(a.aliases),
        ports: JSON.stringify(a.ports),
        requested: JSON.stringify(a.requested),
        conflist: a.conflist ? JSON.stringify(a.conflist) : null,
        capability_args: JSON.stringify(a.capabilityArgs),
        created: a.created,
      });
  }

  markAttached(
    containerId: string,
    networkId: string,
    got: { ips: string[]; gateways: string[]; mac: string | undefined; result: CniResult },
  ): void {
    this.db
      .prepare(
        `UPDATE attachments SET state = 'attached', ips = ?, gateways = ?, mac = ?, cni_result = ? WHERE container_id = ? AND network_id = ?`,
      )
      .run(JSON.stringify(got.ips), JSON.stringify(got.gateways), got.mac ?? null, JSON.stringify(got.result), containerId, networkId);
  }

  getAttachment(containerId: string, networkId: string): StoredAttachment | undefined {
    const row = this.db
      .prepare(`${ATTACHMENT_SELECT} WHERE a.container_id = ? AND a.network_id = ?`)
      .get(containerId, networkId) as AttachmentRow | undefined;
    return row ? toAttachment(row) : undefined;
  }

  listAttachments(filter: { containerId?: string; networkId?: string; node?: string } = {}): StoredAttachment[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.containerId !== undefined) {
      where.push('a.container_id = ?');
      args.push(filter.containerId);
    }
    if (filter.networkId !== undefined) {
      where.push('a.network_id = ?');
      args.push(filter.networkId);
    }
    if (filter.node !== undefined) {
      where.push('a.node = ?');
      args.push(filter.node);
    }
    const sql = `${ATTACHMENT_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY a.rowid`;
    return (this.db.prepare(sql).all(...args) as AttachmentRow[]).map(toAttachment);
  }

  deleteAttachment(containerId: string, networkId: string): void {
    this.db.prepare('DELETE FROM attachments WHERE container_id = ? AND network_id = ?').run(containerId, networkId);
  }
}
