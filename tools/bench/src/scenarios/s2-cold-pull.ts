// 2. Cold pull + unpack of the Debian image from the local registry: berth
// vs `ctr images pull`. Before every sample (untimed) each side is brought
// back to the state it had before the first pull: the image removed the
// way its users remove it (berth rmi / ctr images rm --sync), then anything
// of it still present — blobs or unpacked snapshots — removed explicitly and
// counted, and the content and snapshot lists checked against the baseline.
import { runTimed, output, type Command } from '../exec.js';
import { runInterleaved, samplesOf, type Contestant } from '../interleave.js';
import { buildMetric, type ContestantInfo } from '../report.js';
import { summarize } from '../stats.js';
import { lines, progress, type Scenario } from '../scenario.js';

/** How to list and remove one contestant's images, blobs and snapshots. */
interface Store {
  images(): Promise<string[]>;
  removeImage(ref: string): Promise<void>;
  content(): Promise<string[]>;
  removeContent(digests: string[]): Promise<void>;
  /** Key and parent of every snapshot. */
  snapshots(): Promise<{ key: string; parent: string }[]>;
  removeSnapshot(key: string): Promise<void>;
}

export interface Leftovers {
  content: number;
  snapshots: number;
}

/** Snapshots of `extra` that no other snapshot of `extra` has as parent: removable now. Pure. */
export function leafSnapshots(extra: readonly { key: string; parent: string }[]): string[] {
  const parents = new Set(extra.map((s) => s.parent));
  return extra.filter((s) => !parents.has(s.key)).map((s) => s.key);
}

const minus = <T>(all: readonly T[], base: ReadonlySet<T>) => all.filter((x) => !base.has(x));

async function baselineOf(store: Store): Promise<{ content: Set<string>; snapshots: Set<string> }> {
  return { content: new Set(await store.content()), snapshots: new Set((await store.snapshots()).map((s) => s.key)) };
}

/** Removes the snapshots `store` has beyond `base`, children first; the image and its blobs stay. */
async function removeUnpacked(name: string, store: Store, base: ReadonlySet<string>): Promise<void> {
  let extra = (await store.snapshots()).filter((s) => !base.has(s.key));
  for (let pass = 0; extra.length > 0 && pass < 64; pass++) {
    for (const key of leafSnapshots(extra)) await store.removeSnapshot(key);
    extra = (await store.snapshots()).filter((s) => !base.has(s.key));
  }
  if (extra.length > 0) throw new Error(`${name}: could not remove the unpacked snapshots ${extra.map((s) => s.key).join(', ')}`);
}

/** Files per second and MB (10^6 bytes) per second for an unpack of `layer` that took `ms`. Pure. */
export function unpackThroughput(layer: { inodes: number; bytes: number }, ms: number): { filesPerSecond: number; mbPerSecond: number } {
  const seconds = ms / 1000;
  return { filesPerSecond: layer.inodes / seconds, mbPerSecond: layer.bytes / 1e6 / seconds };
}

/** Brings a store back to its baseline; returns what removing the image itself left behind (undefined: there was no image). */
async function makeCold(name: string, store: Store, ref: string, base: { content: Set<string>; snapshots: Set<string> }): Promise<Leftovers | undefined> {
  const present = (await store.images()).includes(ref);
  if (present) await store.removeImage(ref);
  const leftContent = minus(await store.content(), base.content);
  let extra = (await store.snapshots()).filter((s) => !base.snapshots.has(s.key));
  const leftovers = { content: leftContent.length, snapshots: extra.length };
  if (leftContent.length > 0) await store.removeContent(leftContent);
  for (let pass = 0; extra.length > 0 && pass < 64; pass++) {
    for (const key of leafSnapshots(extra)) await store.removeSnapshot(key);
    extra = (await store.snapshots()).filter((s) => !base.snapshots.has(s.key));
  }
  const content = minus(await store.content(), base.content);
  if (content.length > 0 || extra.length > 0) {
    throw new Error(`${name}: could not return to a cold state: blobs ${content.join(', ') || 'none'}, snapshots ${extra.map((s) => s.key).join(', ') || 'none'} remain`);
  }
  return present ? leftovers : undefined;
}

function berthStore(cli: (...a: string[]) => Command): Store {
  return {
    images: async () => lines(await output(cli('images', '--format', '{{.Repository}}:{{.Tag}}'))),
    removeImage: async (ref) => void (await output(cli('rmi', ref))),
    content: async () => lines(await output(cli('content', 'ls', '-q'))),
    removeContent: async (d) => void (await output(cli('content', 'rm', ...d))),
    snapshots: async () =>
      (JSON.parse(await output(cli('snapshot', 'ls', '--format', 'json'))) as { Key: string; Parent: string }[]).map((s) => ({
        key: s.Key,
        parent: s.Parent,
      })),
    removeSnapshot: async (key) => void (await output(cli('snapshot', 'rm', key))),
  };
}

/** `ctr snapshots ls` rows: KEY PARENT KIND (PARENT may be empty). Pure. */
export function parseCtrSnapshots(text: string): { key: string; parent: string }[] {
  return lines(text)
    .slice(1)
    .map((l) => l.split(/\s+/))
    .map((cols) => (cols.length >= 3 ? { key: cols[0] as string, parent: cols[1] as string } : { key: cols[0] as string, parent: '' }));
}

function containerdStore(ctr: (...a: string[]) => Command): Store {
  return {
    images: async () => lines(await output(ctr('images', 'ls', '-q'))),
    removeImage: async (ref) => void (await output(ctr('images', 'rm', '--sync', ref))),
    content: async () => lines(await output(ctr('content', 'ls', '-q'))),
    removeContent: async (d) => void (await output(ctr('content', 'rm', ...d))),
    snapshots: async () => parseCtrSnapshots(await output(ctr('snapshots', 'ls'))),
    removeSnapshot: async (key) => void (await output(ctr('snapshots', 'rm', key))),
  };
}

export const coldPullScenario: Scenario = {
  id: 2,
  title: 'cold pull + unpack of the Debian image',
  needs: { debian: true },
  defaults: { warmup: 1, runs: 4 },
  quick: { warmup: 0, runs: 1, maxFailures: 1 },
  async run(env, counts) {
    const ref = env.fixtures.debian;
    if (!ref) throw new Error('scenario 2 needs the Debian image in the registry');
    const info: ContestantInfo[] = [
      { name: 'berth', kind: 'berth', how: `berth pull -q ${ref}` },
      { name: 'containerd', kind: 'peer', how: `ctr images pull --plain-http ${ref}` },
    ];
    const stores = { berth: berthStore(env.berth.cli), containerd: containerdStore(env.containerd.ctr) };
    const pulls: Record<string, Command> = {
      berth: env.berth.cli('pull', '-q', ref),
      containerd: env.containerd.ctr('images', 'pull', '--plain-http', ref),
    };
    const leftovers: Record<string, Leftovers[]> = { berth: [], containerd: [] };
    const baselines = { berth: await baselineOf(stores.berth), containerd: await baselineOf(stores.containerd) };
    const contestant = (name: 'berth' | 'containerd'): Contestant => ({
      name,
      async sample() {
        const left = await makeCold(name, stores[name], ref, baselines[name]);
        if (left) leftovers[name]?.push(left);
        const r = await runTimed(pulls[name] as Command);
        const unpacked = (await stores[name].snapshots()).filter((s) => !baselines[name].snapshots.has(s.key));
        if (unpacked.length === 0) throw new Error(`${name}: the pull finished but left no unpacked snapshot`);
        // Unpack alone: the snapshots go, image and blobs stay; the same pull then only unpacks.
        await removeUnpacked(name, stores[name], baselines[name].snapshots);
        const u = await runTimed(pulls[name] as Command);
        const again = (await stores[name].snapshots()).filter((s) => !baselines[name].snapshots.has(s.key));
        if (again.length === 0) throw new Error(`${name}: the second pull left no unpacked snapshot`);
        return { pull: r.ms, unpack: u.ms };
      },
    });
    const result = await runInterleaved([contestant('berth'), contestant('containerd')], { ...counts, signal: env.signal, labelPrefix: 'pull', onSample: progress(env.log, 2) });
    for (const name of ['berth', 'containerd'] as const) {
      const left = await makeCold(name, stores[name], ref, baselines[name]).catch(() => undefined);
      if (left) leftovers[name]?.push(left);
    }
    const samples = samplesOf(result, 'pull');
    const unpackSamples = samplesOf(result, 'unpack');
    // The layer as unpacked (berth's snapshot usage: bytes and inodes), for files/s and MB/s of both contestants.
    await runTimed(pulls.berth as Command);
    const usage = JSON.parse(await output(env.berth.cli('snapshot', 'usage', '--format', 'json'))) as { Key: string; Size: number; Inodes: number }[];
    const layerUsage = usage.filter((u) => !baselines.berth.snapshots.has(u.Key)).reduce((a, u) => ({ inodes: a.inodes + u.Inodes, bytes: a.bytes + u.Size }), { inodes: 0, bytes: 0 });
    const throughput = Object.fromEntries(
      (['berth', 'containerd'] as const).flatMap((name) => {
        const taken = unpackSamples(name) ?? [];
        return taken.length === 0 || layerUsage.inodes === 0 ? [] : [[name, unpackThroughput(layerUsage, summarize(taken).median)]];
      }),
    );
    const afterRemoval = (name: string) => {
      const l = leftovers[name] ?? [];
      return { removals: l.length, snapshotsLeft: l.reduce((s, x) => s + x.snapshots, 0), blobsLeft: l.reduce((s, x) => s + x.content, 0) };
    };
    return {
      id: 2,
      title: this.title,
      method: [
        'Wall time of one pull of the debootstrapped Debian bookworm image (one gzip layer) from the local registry, including unpacking it into a snapshot.',
        'Before each sample, untimed: the image is removed (berth rmi / ctr images rm --sync, whose garbage collection deletes blobs and snapshots), whatever it left is removed explicitly (berth content rm / snapshot rm, ctr content rm / snapshots rm) and counted, and both lists are checked to be back at their pre-pull baseline.',
        'The registry’s files stay in the page cache for both alike; nothing else is dropped.',
        'Unpack only: in the same sample, after the cold pull, the unpacked snapshots are removed (image and blobs stay) and the same pull is timed again: it finds every blob local and only unpacks (plus one manifest request). files/s and MB/s divide the unpacked layer (inodes and bytes from berth snapshot usage) by the median.',
      ],
      counts: { ...counts },
      contestants: info,
      metrics: [
        buildMetric({ id: 'pull', title: 'cold pull + unpack (Debian, 1 layer)', unit: 'ms' }, info, samples),
        buildMetric({ id: 'unpack', title: 'unpack only (blobs already local)', unit: 'ms' }, info, unpackSamples),
      ],
      errors: result.errors,
      details: { leftAfterImageRemoval: { berth: afterRemoval('berth'), containerd: afterRemoval('containerd') }, layer: layerUsage, unpackThroughput: throughput },
      notes: [
        ...Object.entries(throughput).map(
          ([name, t]) =>
            `${name} unpack (median): ${Math.round(t.filesPerSecond)} files/s, ${t.mbPerSecond.toFixed(1)} MB/s (layer: ${layerUsage.inodes} inodes, ${(layerUsage.bytes / 1e6).toFixed(1)} MB as unpacked).`,
        ),
        ...(['berth', 'containerd'] as const).flatMap((name) => {
        const a = afterRemoval(name);
        if (a.snapshotsLeft === 0 && a.blobsLeft === 0) return [];
        const how = name === 'berth' ? 'berth rmi' : 'ctr images rm --sync';
        return [`${how} left ${a.snapshotsLeft} unpacked snapshot(s) and ${a.blobsLeft} blob(s) behind over ${a.removals} removal(s); the harness removed them before the next cold pull.`];
        }),
      ],
    };
  },
};
