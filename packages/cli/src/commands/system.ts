// `system up|status|down` over the launcher, and `system info|df|prune` over the services.
import type { CliIo } from '../stdio/io.js';
import type { ComponentStatus } from '@berth/stack';
import * as images from '@berth/api/images';
import * as networking from '@berth/api/networking';
import * as snapshots from '@berth/api/snapshots';
import * as tasks from '@berth/api/tasks';
import { withSession, type Session } from '../client/session.js';
import { containerState, isRunning } from '../format/containers.js';
import { binarySize, humanSize } from '../format/units.js';
import { printJson, printList, renderTable, renderTemplateList, type Format } from '../output.js';
import { runtimeDirOf, stackOptions, type GlobalOptions } from '../stack-options.js';
import { confirm } from '../stdio/confirm.js';
import { versionInfo } from './version.js';

function printStatus(io: CliIo, list: ComponentStatus[], format: Format): void {
  printList(io, list, {
    format,
    columns: [
      { header: 'NAME', cell: (c) => c.name },
      { header: 'PID', cell: (c) => (c.pid ? String(c.pid) : '-') },
      { header: 'HEALTH', cell: (c) => c.health },
      { header: 'ADDRESS', cell: (c) => c.address },
      { header: 'VERSION', cell: (c) => c.version ?? '-' },
    ],
    json: (c) => c,
  });
}

// the CLI host (a companion) is never required: `berth` runs commands itself without one
const healthy = (list: ComponentStatus[]) => list.every((c) => c.kind === 'companion' || c.health === 'SERVING' || c.health === 'EXTERNAL');

export async function up(g: GlobalOptions, format: Format): Promise<number> {
  const { systemUp } = await import('@berth/stack');
  const o = await stackOptions(g);
  const quiet = format !== 'table';
  const list = await systemUp(o, (e) => {
    if (!quiet) g.io.stderr.write(`${e.name}: ${e.action}\n`);
  });
  printStatus(g.io, list, format);
  return healthy(list) ? 0 : 1;
}

export async function status(g: GlobalOptions, format: Format): Promise<number> {
  const { systemStatus } = await import('@berth/stack');
  const list = await systemStatus(await stackOptions(g));
  printStatus(g.io, list, format);
  return healthy(list) ? 0 : 3;
}

export async function down(g: GlobalOptions): Promise<number> {
  const { systemDown } = await import('@berth/stack');
  await systemDown(await stackOptions(g), (name, how) => g.io.stderr.write(`${name}: ${how}\n`));
  return 0;
}

/** A part of `info` that could not be read says why instead of failing the whole command. */
async function part<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const failed = (v: unknown): v is { error: string } => typeof v === 'object' && v !== null && 'error' in v;

export async function info(g: GlobalOptions, format: Format): Promise<number> {
  return withSession(g, async (s) => {
    const version = versionInfo(runtimeDirOf(g));
    const [containers, imageCount, snapshotter, nodes, networks] = await Promise.all([
      part(async () => {
        const list = (await s.unary(s.api(tasks.ContainersClient), 'listContainers', { filters: [] })).containers;
        const count = (state: string) => list.filter((c) => containerState(c) === state).length;
        return { total: list.length, running: count('running'), paused: count('paused'), stopped: count('exited') + count('created') };
      }),
      part(async () => (await s.unary(s.api(images.ImagesClient), 'listImages', { filters: [] })).images.length),
      part(async () => {
        const r = await s.unary(s.api(snapshots.SnapshotsClient), 'getSnapshotterInfo', { snapshotter: '' });
        return { name: r.name, driver: r.driver, root: r.root, available: r.available };
      }),
      part(async () =>
        (await s.unary(s.api(tasks.NodesClient), 'listNodes', { filters: [] })).nodes.map((n) => ({
          id: n.id,
          state: String(n.state).replace(/^NODE_STATE_/, '').toLowerCase(),
          cpus: n.capacity?.cpus ?? 0,
          memoryBytes: n.capacity?.memoryBytes ?? 0,
          running: n.runningContainers,
          versions: n.versions,
        })),
      ),
      part(async () => (await s.unary(s.api(networking.NetworksClient), 'listNetworks', { filters: [] })).networks.length),
    ]);
    const result = {
      client: version.client,
      namespace: s.namespace,
      runtimeDir: s.runtimeDir,
      root: g.root ?? g.io.env['BERTH_ROOT'] ?? '/var/lib/berth',
      services: version.server.components,
      containers,
      images: imageCount,
      snapshotter,
      nodes,
      networks,
    };
    if (format === 'json') printJson(g.io, result);
    else if (format !== 'table') g.io.stdout.write(renderTemplateList(format.template, [result]));
    else g.io.stdout.write(renderInfo(result));
    return 0;
  });
}

function renderInfo(r: {
  client: { version: string };
  namespace: string;
  runtimeDir: string;
  root: string;
  services: { name: string; running: boolean; version: string | null }[];
  containers: { total: number; running: number; paused: number; stopped: number } | { error: string };
  images: number | { error: string };
  snapshotter: { name: string; driver: string; root: string } | { error: string };
  nodes: { id: string; state: string; cpus: number; memoryBytes: number; running: number }[] | { error: string };
  networks: number | { error: string };
}): string {
  const lines = [
    'Client:',
    ` Version:      ${r.client.version}`,
    '',
    'Server:',
    ` Namespace:    ${r.namespace}`,
    ` Root:         ${r.root}`,
    ` Runtime dir:  ${r.runtimeDir}`,
    ` Services:     ${r.services.map((c) => `${c.name} ${c.running ? (c.version ?? '?') : '(not running)'}`).join(', ')}`,
  ];
  const c = r.containers;
  lines.push(failed(c) ? ` Containers:   unavailable (${c.error})` : ` Containers:   ${c.total}`);
  if (!failed(c)) lines.push(`  Running:     ${c.running}`, `  Paused:      ${c.paused}`, `  Stopped:     ${c.stopped}`);
  lines.push(` Images:       ${failed(r.images) ? `unavailable (${r.images.error})` : r.images}`);
  const sn = r.snapshotter;
  lines.push(` Snapshotter:  ${failed(sn) ? `unavailable (${sn.error})` : `${sn.name} (${sn.driver}, ${sn.root})`}`);
  lines.push(` Networks:     ${failed(r.networks) ? `unavailable (${r.networks.error})` : r.networks}`);
  if (failed(r.nodes)) lines.push(` Nodes:        unavailable (${r.nodes.error})`);
  else {
    lines.push(` Nodes:        ${r.nodes.length}`);
    for (const n of r.nodes) lines.push(`  ${n.id}: ${n.state}, ${n.cpus} CPUs, ${binarySize(n.memoryBytes)}, ${n.running} running`);
  }
  return lines.join('\n') + '\n';
}

interface DfRow {
  type: string;
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

/** Unique blobs (manifest, config, layers, index) an image holds in the content store. */
function imageBlobs(i: images.InspectImageResponse): Map<string, number> {
  const blobs = new Map<string, number>();
  for (const d of [i.image?.target, i.manifest, i.config, ...i.layers]) if (d?.digest) blobs.set(d.digest, d.size);
  return blobs;
}

async function diskUsage(s: Session): Promise<DfRow[]> {
  const [containers, imageList, content, volumes] = await Promise.all([
    s.unary(s.api(tasks.ContainersClient), 'listContainers', { filters: [] }).then((r) => r.containers),
    s.unary(s.api(images.ImagesClient), 'listImages', { filters: [] }).then((r) => r.images),
    s.unary(s.api(images.ContentClient), 'listContent', { filters: [] }).then((r) => r.infos),
    s.unary(s.api(tasks.VolumesClient), 'listVolumes', { filters: [], withSize: true }).then((r) => r.volumes),
  ]);
  const usedNames = new Set(containers.flatMap((c) => [c.imageName, c.spec?.image ?? '']));
  const usedBlobs = new Map<string, number>();
  for (const image of imageList.filter((i) => usedNames.has(i.name))) {
    try {
      for (const [d, size] of imageBlobs(await s.unary(s.api(images.ImagesClient), 'inspectImage', { name: image.name }))) usedBlobs.set(d, size);
    } catch {
      // an image that cannot be resolved counts as reclaimable
    }
  }
  const contentSize = content.reduce((a, c) => a + c.size, 0);
  const usedSize = [...usedBlobs.values()].reduce((a, b) => a + b, 0);
  const writable = async (c: tasks.Container) => {
    try {
      const key = c.spec?.snapshotKey || c.id;
      return (await s.unary(s.api(snapshots.SnapshotsClient), 'getSnapshotUsage', { snapshotter: c.spec?.snapshotter ?? '', key })).usage?.size ?? 0;
    } catch {
      return 0;
    }
  };
  const sizes = await Promise.all(containers.map(async (c) => ({ running: isRunning(c), size: await writable(c) })));
  return [
    {
      type: 'Images',
      total: imageList.length,
      active: imageList.filter((i) => usedNames.has(i.name)).length,
      size: contentSize,
      reclaimable: Math.max(0, contentSize - usedSize),
    },
    {
      type: 'Containers',
      total: containers.length,
      active: sizes.filter((x) => x.running).length,
      size: sizes.reduce((a, x) => a + x.size, 0),
      reclaimable: sizes.filter((x) => !x.running).reduce((a, x) => a + x.size, 0),
    },
    {
      type: 'Local Volumes',
      total: volumes.length,
      active: volumes.filter((v) => v.usedBy.length > 0).length,
      size: volumes.reduce((a, v) => a + Math.max(0, v.size), 0),
      reclaimable: volumes.filter((v) => v.usedBy.length === 0).reduce((a, v) => a + Math.max(0, v.size), 0),
    },
  ];
}

export async function df(g: GlobalOptions, format: Format): Promise<number> {
  return withSession(g, async (s) => {
    const rows = await diskUsage(s);
    const pct = (r: DfRow) => (r.size > 0 ? ` (${Math.round((r.reclaimable / r.size) * 100)}%)` : '');
    if (format === 'table') {
      g.io.stdout.write(
        renderTable(
          ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
          rows.map((r) => [r.type, String(r.total), String(r.active), humanSize(r.size), `${humanSize(r.reclaimable)}${pct(r)}`]),
        ),
      );
    } else {
      printList(g.io, rows, {
        format,
        columns: [],
        json: (r) => ({ Type: r.type, TotalCount: r.total, Active: r.active, Size: r.size, Reclaimable: r.reclaimable }),
      });
    }
    return 0;
  });
}

/**
 * `system prune`: stopped containers, unused networks, unreferenced content,
 * with --all unused images, with --volumes unused anonymous volumes (as Docker,
 * --all does not widen that to named ones).
 */
export async function prune(g: GlobalOptions, o: { all?: boolean; force?: boolean; volumes?: boolean }): Promise<number> {
  const what = [
    '  - all stopped containers',
    '  - all networks not used by at least one container',
    o.volumes ? '  - all anonymous volumes not used by at least one container' : '',
    o.all ? '  - all images without at least one container associated to them' : '',
    '  - all content no image refers to',
  ].filter(Boolean);
  if (!o.force && !(await confirm(g.io, `WARNING! This will remove:\n${what.join('\n')}`))) return 0;
  const containers = await import('./containers.js');
  const networks = await import('./networks.js');
  const imagesCmd = await import('./images.js');
  let code = await containers.prune(g, { force: true, filter: [] });
  code ||= await networks.prune(g, { force: true, filter: [] });
  if (o.volumes) code ||= await (await import('./volumes.js')).prune(g, { force: true, filter: [] });
  code ||= await imagesCmd.prune(g, { all: o.all === true, force: true });
  return code;
}
