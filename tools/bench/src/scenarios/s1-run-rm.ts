// 1. `run --rm busybox echo hello`, from the command to its exit: berth vs
// `ctr run --rm` vs bare `runc run`. Each must print exactly "hello".
import { expectOutput, runTimed, SHORT_TIMEOUT_MS } from '../exec.js';
import { runInterleaved, samplesOf, type Contestant } from '../interleave.js';
import { buildMetric, type ContestantInfo } from '../report.js';
import { progress, type Scenario } from '../scenario.js';

export const ECHO_ARGS = ['echo', 'hello'];

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
      { name: 'containerd', kind: 'peer', how: `ctr run --rm ${image} <id> echo hello` },
      { name: 'runc', kind: 'floor', how: 'runc run --bundle <busybox rootfs, runc spec> <id>' },
    ];
    const timedEcho = async (what: string, cmd: Parameters<typeof runTimed>[0]) => {
      const r = await runTimed(cmd, SHORT_TIMEOUT_MS);
      expectOutput(what, r.stdout, 'hello');
      return { wall: r.ms };
    };
    const contestants: Contestant[] = [
      { name: 'berth', sample: () => timedEcho('berth run --rm', berth.cli('run', '--rm', '--network', 'none', image, ...ECHO_ARGS)) },
      {
        name: 'containerd',
        sample: (label) => timedEcho('ctr run --rm', containerd.ctr('run', '--rm', ...containerd.runArgs(), image, `bench-${label}`, ...ECHO_ARGS)),
      },
      { name: 'runc', sample: (label) => timedEcho('runc run', runc.run(`bench-${label}`)) },
    ];
    const result = await runInterleaved(contestants, { ...counts, signal: env.signal, labelPrefix: 'run', onSample: progress(env.log, 1) });
    const samples = samplesOf(result, 'wall');
    return {
      id: 1,
      title: this.title,
      method: [
        'Wall time of one CLI invocation, from spawn to exit, with the image already pulled.',
        'berth runs with --network none: ctr run and runc also give the container a new network namespace with only loopback, while berth’s default network would add a CNI bridge attachment that ctr does not do without --cni.',
        'runc runs a bundle extracted once from the same image, read-only rootfs, no snapshot, no monitor: the floor.',
        'Every sample must print exactly "hello".',
      ],
      counts: { ...counts },
      contestants: info,
      metrics: [buildMetric({ id: 'wall', title: 'run --rm echo hello', unit: 'ms' }, info, samples)],
      errors: result.errors,
    };
  },
};
