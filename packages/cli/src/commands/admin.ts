// Per-service admin views, like ctr: `snapshot ls|usage|rm`, `content ls|rm`, `node ls`.
import * as images from '@berth/api/images';
import * as snapshots from '@berth/api/snapshots';
import * as tasks from '@berth/api/tasks';
import { dateFromTimestamp, type Timestamp } from '@berth/api/timestamps';
import { Code, hasCode } from '../client/errors.js';
import { withSession } from '../client/session.js';
import { binarySize, humanSize, timeAgo } from '../format/units.js';
import { BerthError, printList, type Format } from '../output.js';
import type { GlobalOptions } from '../stack-options.js';

const iso = (t: Timestamp | undefined) => (t ? dateFromTimestamp(t).toISOString() : null);
const ago = (t: Timestamp | undefined) => timeAgo(t ? dateFromTimestamp(t) : undefined);

const KINDS: Record<string, string> = {
  [snapshots.SnapshotKind.VIEW]: 'view',
  [snapshots.SnapshotKind.ACTIVE]: 'active',
  [snapshots.SnapshotKind.COMMITTED]: 'committed',
};

/** Runs fn per argument, printing it on success; failures go to stderr and make the exit code 125. */
async function each(g: GlobalOptions, items: string[], what: string, fn: (item: string) => Promise<void>): Promise<number> {
  let failed = false;
  for (const item of items) {
    try {
      await fn(item);
      g.io.stdout.write(`${item}\n`);
    } catch (err) {
      failed = true;
      const message = hasCode(err, Code.NOT_FOUND) ? `No such ${what}: ${item}` : (err as Error).message;
      g.io.stderr.write(`berth: ${message}\n`);
    }
  }
  return failed ? 125 : 0;
}

export async function snapshotList(g: GlobalOptions, o: { snapshotter?: string; quiet?: boolean; filter: string[] }, format: Format) {
  return withSession(g, async (s) => {
    const infos = (await s.unary(s.api(snapshots.SnapshotsClient), 'listSnapshots', { snapshotter: o.snapshotter ?? '', filters: o.filter })).infos;
    printList(g.io, infos, {
      format,
      columns: [
        { header: 'KEY', cell: (i) => i.name },
        { header: 'PARENT', cell: (i) => i.parent },
        { header: 'KIND', cell: (i) => KINDS[i.kind] ?? 'unknown' },
        { header: 'CREATED', cell: (i) => ago(i.createdAt) },
      ],
      json: (i) => ({ Key: i.name, Parent: i.parent, Kind: KINDS[i.kind] ?? 'unknown', CreatedAt: iso(i.createdAt), Labels: i.labels }),
      quiet: o.quiet ? (i) => i.name : undefined,
    });
    return 0;
  });
}

export async function snapshotUsage(g: GlobalOptions, keys: string[], o: { snapshotter?: string }, format: Format) {
  return withSession(g, async (s) => {
    const snapshotter = o.snapshotter ?? '';
    const wanted = keys.length > 0 ? keys : (await s.unary(s.api(snapshots.SnapshotsClient), 'listSnapshots', { snapshotter, filters: [] })).infos.map((i) => i.name);
    const rows: { key: string; size: number; inodes: number }[] = [];
    for (const key of wanted) {
      try {
        const usage = (await s.unary(s.api(snapshots.SnapshotsClient), 'getSnapshotUsage', { snapshotter, key })).usage;
        rows.push({ key, size: usage?.size ?? 0, inodes: usage?.inodes ?? 0 });
      } catch (err) {
        throw hasCode(err, Code.NOT_FOUND) ? new BerthError(`No such snapshot: ${key}`, 125, { cause: err }) : err;
      }
    }
    printList(g.io, rows, {
      format,
      columns: [
        { header: 'KEY', cell: (r) => r.key },
        { header: 'SIZE', cell: (r) => binarySize(r.size) },
        { header: 'INODES', cell: (r) => String(r.inodes) },
      ],
      json: (r) => ({ Key: r.key, Size: r.size, Inodes: r.inodes }),
    });
    return 0;
  });
}

export async function snapshotRemove(g: GlobalOptions, keys: string[], o: { snapshotter?: string }) {
  return withSession(g, (s) =>
    each(g, keys, 'snapshot', async (key) => {
      await s.unary(s.api(snapshots.SnapshotsClient), 'removeSnapshot', { snapshotter: o.snapshotter ?? '', key });
    }),
  );
}

export async function contentList(g: GlobalOptions, o: { quiet?: boolean; filter: string[] }, format: Format) {
  return withSession(g, async (s) => {
    const infos = (await s.unary(s.api(images.ContentClient), 'listContent', { filters: o.filter })).infos;
    const labels = (l: Record<string, string>) =>
      Object.entries(l)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
    printList(g.io, infos, {
      format,
      columns: [
        { header: 'DIGEST', cell: (i) => i.digest },
        { header: 'SIZE', cell: (i) => humanSize(i.size) },
        { header: 'AGE', cell: (i) => ago(i.createdAt) },
        { header: 'LABELS', cell: (i) => labels(i.labels) },
      ],
      json: (i) => ({ Digest: i.digest, Size: i.size, CreatedAt: iso(i.createdAt), Labels: i.labels }),
      quiet: o.quiet ? (i) => i.digest : undefined,
    });
    return 0;
  });
}

export async function contentRemove(g: GlobalOptions, digests: string[]) {
  return withSession(g, (s) =>
    each(g, digests, 'content', async (digest) => {
      await s.unary(s.api(images.ContentClient), 'deleteContent', { digest });
    }),
  );
}

const NODE_STATES: Record<string, string> = {
  [tasks.NodeState.READY]: 'ready',
  [tasks.NodeState.UNAVAILABLE]: 'unavailable',
};

export async function nodeList(g: GlobalOptions, o: { quiet?: boolean; filter: string[] }, format: Format) {
  return withSession(g, async (s) => {
    const nodes = (await s.unary(s.api(tasks.NodesClient), 'listNodes', { filters: o.filter })).nodes;
    printList(g.io, nodes, {
      format,
      columns: [
        { header: 'ID', cell: (n) => n.id },
        { header: 'HOSTNAME', cell: (n) => n.hostname },
        { header: 'STATE', cell: (n) => NODE_STATES[n.state] ?? 'unknown' },
        { header: 'CPUS', cell: (n) => String(n.capacity?.cpus ?? 0) },
        { header: 'MEMORY', cell: (n) => binarySize(n.capacity?.memoryBytes ?? 0) },
        { header: 'RUNNING', cell: (n) => String(n.runningContainers) },
        { header: 'LAST HEARTBEAT', cell: (n) => ago(n.lastHeartbeatAt) },
      ],
      json: (n) => ({
        ID: n.id,
        Hostname: n.hostname,
        State: NODE_STATES[n.state] ?? 'unknown',
        Cpus: n.capacity?.cpus ?? 0,
        MemoryBytes: n.capacity?.memoryBytes ?? 0,
        RunningContainers: n.runningContainers,
        Versions: n.versions,
        Labels: n.labels,
        AgentAddress: n.agentAddress,
        RegisteredAt: iso(n.registeredAt),
        LastHeartbeatAt: iso(n.lastHeartbeatAt),
      }),
      quiet: o.quiet ? (n) => n.id : undefined,
    });
    return 0;
  });
}
