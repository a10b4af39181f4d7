// 1. `run --rm busybox echo hello`, from the command to its exit: berth vs
// `ctr run --rm` vs bare `runc run`. Each must print exactly "hello". Also
// berth through its NATS API, as an orchestrator runs a one-off: the same
// work in the services, without a CLI process.
import type { NatsConnection } from 'nats';
import { expectOutput, runTimed, SHORT_TIMEOUT_MS } from '../exec.js';
import { runInterleaved, samplesOf, type Contestant, type InterleaveResult } from '../interleave.js';
import { connectNats, requestJson, RUN_SUBJECT } from '../nats-client.js';
import type { BerthPeer } from '../peers/berth.js';
import { buildMetric, type ContestantInfo } from '../report.js';
import { progress, type Scenario } from '../scenario.js';

export const ECHO_ARGS = ['echo', 'hello'];

/** An event of berth's bus this scenario waits for: the payload's container id, and its exit code for tasks.exit. Pure. */
export function parseRunRmEvent(data: string): { type: string; containerId: string; exitCode?: number } | undefined {
  let env: { type?: string; payload?: { id?: string; containerId?: string; execId?: string; exitStatus?: { exitCode?: number } } };
  try {
    env = JSON.parse(data) as typeof env;
  } catch {
    return undefined;
  }
  const p = env.payload;
  if (env.type === 'containers.deleted' && p?.id) return { type: env.type, containerId: p.id };
  if (env.type === 'tasks.exit' && p?.containerId && (p.execId ?? '') === '') {
    return { type: env.type, containerId: p.containerId, exitCode: p.exitStatus?.exitCode ?? 0 };
  }
  return undefined;
}

/**
 * berth through its NATS API: containers.run with autoRemove, timed until
 * the containers.deleted event of that container arrives (the removal is
 * done); its tasks.exit must say exit code 0. No attach: the bus carries no
 * stdio, so "hello" is not checked here.
 */
async function berthNatsRunRm(nc: NatsConnection, berth: BerthPeer, image: string, name: string): Promise<number> {
  const seen = new Map<string, { exitCode?: number; deleted: boolean }>();
  let wake: (() => void) | undefined;
  const subs = ['containers.deleted', 'tasks.exit'].map((type) =>
    nc.subscribe(`berth.${berth.namespace}.events.${type}`, {
      callback: (err, msg) => {
        if (err) return;
        const e = parseRunRmEvent(new TextDecoder().decode(msg.data));
        if (!e) return;
        const entry = seen.get(e.containerId) ?? { deleted: false };
        if (e.type === 'containers.deleted') entry.deleted = true;
        else entry.exitCode = e.exitCode;
        seen.set(e.containerId, entry);
        wake?.();
      },
    }),
  );
  try {
    // The subscriptions are in place at the server before the run is asked for.
    await nc.flush();
    const t0 = process.hrtime.bigint();
    const spec = { image, cmd: { args: ECHO_ARGS }, networks: [{ network: 'none' }], autoRemove: true };
    const result = (await requestJson(nc, RUN_SUBJECT, { namespace: berth.namespace, name, spec }, SHORT_TIMEOUT_MS)) as { container?: { id?: string } };
    const id = result.container?.id;
    if (!id) throw new Error(`${RUN_SUBJECT} answered without a container id`);
    const deadline = Date.now() + SHORT_TIMEOUT_MS;
    while (!seen.get(id)?.deleted) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no containers.deleted event for ${id} within ${SHORT_TIMEOUT_MS} ms of its run`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const exitCode = seen.get(id)?.exitCode;
    if (exitCode !== 0) throw new Error(`container ${id} ${exitCode === undefined ? 'was removed without a tasks.exit event' : `exited with ${exitCode}`}, expected 0`);
    return ms;
  } finally {
    for (const sub of subs) sub.unsubscribe();
  }
}

export const runRmScenario: Scenario = {
  id: 1,
  title: 'run --rm busybox echo hello',
  needs: { runc: true },
  defaults: { warmup: 2, runs: 10 },
  quick: { warmup: 1, runs: 2, maxFailures: 1 },
  async run(env, counts) {
    const { berth, containerd, fixtures } = env;
    const runc = env.runc;
    if (!runc) throw new Error('scenario 1 needs the runc floor');
    const image = fixtures.busybox;
    const info: ContestantInfo[] = [
      { name: 'berth', kind: 'berth', how: `berth run --rm --network none ${image} echo hello` },
      {
        name: 'berth (NATS API)',
        kind: 'berth',
        how: `${RUN_SUBJECT} {image: ${image}, cmd: echo hello, network none, autoRemove}; until its containers.deleted event`,
      },
      { name: 'containerd', kind: 'peer', how: `ctr run --rm ${image} <id> echo hello` },
      { name: 'runc', kind: 'floor', how: 'runc run --bundle <busybox rootfs, runc spec> <id>' },
    ];
    const timedEcho = async (what: string, cmd: Parameters<typeof runTimed>[0]) => {
      const r = await runTimed(cmd, SHORT_TIMEOUT_MS);
      expectOutput(what, r.stdout, 'hello');
      return { wall: r.ms };
    };
    const nc = await connectNats(berth.natsUrl);
    const contestants: Contestant[] = [
      { name: 'berth', sample: () => timedEcho('berth run --rm', berth.cli('run', '--rm', '--network', 'none', image, ...ECHO_ARGS)) },
      { name: 'berth (NATS API)', sample: async (label) => ({ wall: await berthNatsRunRm(nc, berth, image, `bench-${label}`) }) },
      {
        name: 'containerd',
        sample: (label) => timedEcho('ctr run --rm', containerd.ctr('run', '--rm', ...containerd.runArgs(), image, `bench-${label}`, ...ECHO_ARGS)),
      },
      { name: 'runc', sample: (label) => timedEcho('runc run', runc.run(`bench-${label}`)) },
    ];
    let result: InterleaveResult;
    try {
      result = await runInterleaved(contestants, { ...counts, signal: env.signal, labelPrefix: 'run', onSample: progress(env.log, 1) });
    } finally {
      await nc.close();
    }
    const samples = samplesOf(result, 'wall');
    return {
      id: 1,
      title: this.title,
      method: [
        'Wall time of one CLI invocation, from spawn to exit, with the image already pulled.',
        'berth runs with --network none: ctr run and runc also give the container a new network namespace with only loopback, while berth’s default network would add a CNI bridge attachment that ctr does not do without --cni.',
        'runc runs a bundle extracted once from the same image, read-only rootfs, no snapshot, no monitor: the floor.',
        'Every sample must print exactly "hello".',
        'berth (NATS API): what an orchestrator does over the bus, timed from the containers.run request with autoRemove to the containers.deleted event of that container (the removal is done); its tasks.exit must say exit code 0. The services do the same work as for the CLI except the attach (the bus carries no stdio), and no CLI process starts.',
      ],
      counts: { ...counts },
      contestants: info,
      metrics: [buildMetric({ id: 'wall', title: 'run --rm echo hello', unit: 'ms' }, info, samples)],
      errors: result.errors,
    };
  },
};
