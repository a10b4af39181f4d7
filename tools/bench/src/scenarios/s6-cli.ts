// 6. CLI start-up: one invocation from spawn to exit. `berth version` asks
// every service for its version, `ctr version` asks the daemon; `berth ps`
// and `ctr containers ls` list an empty namespace; `--version` alone never
// leaves the client, which isolates the cost of starting the client itself.
import { runTimed, SHORT_TIMEOUT_MS, type Command } from '../exec.js';
import { runInterleaved, samplesOf, type Contestant } from '../interleave.js';
import { buildMetric, type ContestantInfo } from '../report.js';
import { progress, type Scenario } from '../scenario.js';

const COMMANDS = [
  { id: 'version', title: 'version (client + server)', berth: ['version'], ctr: ['version'] },
  { id: 'ps', title: 'list containers (empty)', berth: ['ps'], ctr: ['containers', 'ls'] },
  { id: 'client', title: '--version (client only)', berth: ['--version'], ctr: ['--version'] },
] as const;

export const cliScenario: Scenario = {
  id: 6,
  title: 'CLI start-up',
  needs: {},
  defaults: { warmup: 2, runs: 20 },
  quick: { warmup: 1, runs: 2, maxFailures: 1 },
  async run(env, counts) {
    const { berth, containerd } = env;
    const info: ContestantInfo[] = [
      { name: 'berth', kind: 'berth', how: COMMANDS.map((c) => `berth ${c.berth.join(' ')}`).join('; ') },
      { name: 'containerd', kind: 'peer', how: COMMANDS.map((c) => `ctr ${c.ctr.join(' ')}`).join('; ') },
    ];
    const all = async (make: (c: (typeof COMMANDS)[number]) => Command) => {
      const sample: Record<string, number> = {};
      for (const c of COMMANDS) sample[c.id] = (await runTimed(make(c), SHORT_TIMEOUT_MS)).ms;
      return sample;
    };
    const contestants: Contestant[] = [
      { name: 'berth', sample: () => all((c) => berth.cli(...c.berth)) },
      { name: 'containerd', sample: () => all((c) => containerd.ctr(...c.ctr)) },
    ];
    const result = await runInterleaved(contestants, { ...counts, signal: env.signal, labelPrefix: 'cli', onSample: progress(env.log, 6) });
    const samples = (metric: string) => samplesOf(result, metric);
    return {
      id: 6,
      title: this.title,
      method: [
        'Wall time of one invocation from spawn to exit, output discarded; each sample runs the three commands in turn, the contestants alternating.',
        '`berth version` calls all five services (and prints their versions), `ctr version` calls containerd once; the list commands see an empty namespace; --version never leaves the client.',
      ],
      counts: { ...counts },
      contestants: info,
      metrics: COMMANDS.map((c) => buildMetric({ id: c.id, title: `${c.title}: berth ${c.berth.join(' ')} / ctr ${c.ctr.join(' ')}`, unit: 'ms' }, info, samples(c.id))),
      errors: result.errors,
    };
  },
};
