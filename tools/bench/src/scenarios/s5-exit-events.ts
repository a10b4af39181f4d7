// 5. Exit-event latency: from the moment a container's process exits to
// the moment a subscriber holds the exit event. The exit moment is taken on
// the harness's own clock: the container's last act before `exit 3` is to
// write one line into a FIFO (bind-mounted from the host) that the harness
// is reading, so "written" and "received" are two readings of the same
// monotonic clock, no wall-clock comparison between processes involved.
// berth: plain NATS subscriptions on berth.<ns>.events.tasks.exit (the
// public exit event, published by the tasks service) and on the agent's own
// exit report (agent.task.exit, which the tasks service consumes), so the
// time to each is known. containerd: `ctr events`, line by line.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants, openSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { NatsConnection } from 'nats';
import { output, runCommand, SHORT_TIMEOUT_MS } from '../exec.js';
import { runInterleaved, samplesOf, type Contestant, type Sample } from '../interleave.js';
import { connectNats, requestJson, REMOVE_SUBJECT, RUN_SUBJECT } from '../nats-client.js';
import { buildMetric, type ContestantInfo } from '../report.js';
import { progress, type Scenario } from '../scenario.js';

export const EXIT_CODE = 3;
/** Long enough for the start to have settled (events published, waits set up): the exit happens on an idle stack. */
export const SLEEP_BEFORE_EXIT_S = 0.3;
const WAIT_MS = 15_000;

/** The container's command: sleep, write the FIFO, exit. Pure. */
export function exitScript(fifoName: string): string[] {
  return ['sh', '-c', `sleep ${SLEEP_BEFORE_EXIT_S}; echo x > /out/${fifoName}; exit ${EXIT_CODE}`];
}

export interface ExitEvent {
  containerId: string;
  /** 'public': the exit event a subscriber is meant to watch; 'report': an internal step on the way to it. */
  kind: 'public' | 'report';
  /** What it was, e.g. "tasks.exit from tasks", "agent.task.exit from agent", "/tasks/exit". */
  label: string;
  exitCode: number;
  /** When the monitor recorded the exit (the payload's exited_at), in epoch ms; undefined if absent. */
  exitedAtMs: number | undefined;
  /** performance.now() when the harness had it. */
  receivedAt: number;
}

/** Epoch milliseconds (with fraction) of an RFC 3339 time with up to nanosecond digits; undefined if malformed. Pure. */
export function rfc3339ToMs(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return undefined;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(whole)) return undefined;
  return whole + (m[2] ? Number(`0${m[2]}`) * 1000 : 0);
}

/** performance.now() as epoch milliseconds, to compare with a monitor's exited_at. */
export const wallMs = (perfNow: number) => performance.timeOrigin + perfNow;

/** A berth exit event (tasks.exit) or agent exit report (agent.task.exit) as an ExitEvent, init processes only. Pure. */
export function parseBerthExit(data: string, receivedAt: number): ExitEvent | undefined {
  const env = JSON.parse(data) as {
    type?: string;
    source?: string;
    payload?: { containerId?: string; execId?: string; exitStatus?: { exitCode?: number; exitedAt?: string } };
  };
  const p = env.payload;
  if ((env.type !== 'tasks.exit' && env.type !== 'agent.task.exit') || !p?.containerId || (p.execId ?? '') !== '') return undefined;
  return {
    containerId: p.containerId,
    kind: env.type === 'tasks.exit' ? 'public' : 'report',
    label: `${env.type} from ${env.source ?? 'unknown'}`,
    exitCode: p.exitStatus?.exitCode ?? 0,
    exitedAtMs: rfc3339ToMs(p.exitStatus?.exitedAt),
    receivedAt,
  };
}

/** One line of `ctr events`: "<date> <time> <zone> <zone-name> <namespace> <topic> <json>". Pure. */
export function parseCtrEventLine(line: string): { namespace: string; topic: string; event: Record<string, unknown> } | undefined {
  const m = /^\S+ \S+ \S+ \S+ (\S+) (\/\S+) (\{.*\})\s*$/.exec(line);
  if (!m) return undefined;
  try {
    return { namespace: m[1] as string, topic: m[2] as string, event: JSON.parse(m[3] as string) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/** Events received so far, and waiting for the ones not yet received. */
export class EventBook {
  private readonly events: ExitEvent[] = [];
  private readonly waiters = new Set<() => void>();

  add(e: ExitEvent): void {
    this.events.push(e);
    for (const w of [...this.waiters]) w();
  }

  /** Every event of a container once `enough` says so; rejects after timeoutMs naming what arrived. */
  waitFor(containerId: string, enough: (got: ExitEvent[]) => boolean, timeoutMs: number): Promise<ExitEvent[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const got = this.events.filter((e) => e.containerId === containerId);
        if (!enough(got)) return false;
        done();
        resolve(got);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        const got = this.events.filter((e) => e.containerId === containerId).map((e) => e.label);
        reject(new Error(`exit event of ${containerId} not complete after ${timeoutMs} ms (got: ${got.join(', ') || 'none'})`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = () => void check();
      this.waiters.add(waiter);
      check();
    });
  }
}

/** Resolves with performance.now() when a line arrives on the FIFO. A non-blocking O_RDWR open never waits for a writer nor sees EOF. */
function watchFifo(path: string, timeoutMs: number): Promise<number> {
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  const sock = new net.Socket({ fd, readable: true, writable: false });
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`nothing was written to ${path} within ${timeoutMs} ms: the container did not reach its exit`));
    }, timeoutMs);
    sock.once('data', () => {
      const at = performance.now();
      clearTimeout(timer);
      sock.destroy();
      resolve(at);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The public exit events of the namespace and the agents' exit reports (of any namespace: they carry the container's). */
export const berthExitSubjects = (namespace: string) => [`berth.${namespace}.events.tasks.exit`, 'berth.*.events.agent.task.exit'];

function berthSubscription(nc: NatsConnection, namespace: string, book: EventBook): void {
  for (const subject of berthExitSubjects(namespace)) {
    nc.subscribe(subject, {
      callback: (err, msg) => {
        const at = performance.now();
        if (err) return;
        const e = parseBerthExit(new TextDecoder().decode(msg.data), at);
        if (e) book.add(e);
      },
    });
  }
}

function ctrEventsProcess(cmd: { file: string; args: string[] }, namespace: string, book: EventBook): ChildProcess {
  const child = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const at = performance.now();
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      const ev = parseCtrEventLine(line);
      if (!ev || ev.namespace !== namespace || ev.topic !== '/tasks/exit') continue;
      const id = String(ev.event['container_id'] ?? '');
      if (id) {
        book.add({ containerId: id, kind: 'public', label: '/tasks/exit', exitCode: Number(ev.event['exit_status'] ?? 0), exitedAtMs: rfc3339ToMs(ev.event['exited_at']), receivedAt: at });
      }
    }
  });
  return child;
}

function checkExitCodes(events: ExitEvent[]): void {
  const wrong = events.find((e) => e.exitCode !== EXIT_CODE);
  if (wrong) throw new Error(`${wrong.label} reported exit code ${wrong.exitCode} for ${wrong.containerId}, expected ${EXIT_CODE}`);
}

export const exitEventScenario: Scenario = {
  id: 5,
  title: 'exit event latency (process exit → subscriber)',
  needs: {},
  defaults: { warmup: 3, runs: 60 },
  quick: { warmup: 0, runs: 3, maxFailures: 1 },
  async run(env, counts) {
    const { berth, containerd, fixtures } = env;
    const dir = join(env.workDir, 'exit-fifos');
    await mkdir(dir, { recursive: true });
    const image = fixtures.busybox;
    const info: ContestantInfo[] = [
      { name: 'berth', kind: 'berth', how: `${RUN_SUBJECT} {image: ${image}, cmd: ${exitScript('<fifo>').join(' ')}, no network, bind <dir>:/out}; NATS subscriptions on berth.${berth.namespace}.events.tasks.exit and berth.*.events.agent.task.exit` },
      { name: 'containerd', kind: 'peer', how: `ctr run -d --mount type=bind,src=<dir>,dst=/out ${image} <id> …same…; ctr events` },
    ];
    const book = new EventBook();
    const nc = await connectNats(berth.natsUrl);
    const ctrEvents = ctrEventsProcess(containerd.ctr('events'), containerd.namespace, book);
    const labels = new Set<string>();
    try {
      berthSubscription(nc, berth.namespace, book);
      await nc.flush();
      const withFifo = async (label: string, start: (fifoName: string) => Promise<string>, expect: (got: ExitEvent[]) => boolean, cleanup: (id: string) => Promise<unknown>): Promise<Sample> => {
        const fifoName = `${label}.fifo`;
        const fifo = join(dir, fifoName);
        await runCommand({ file: 'mkfifo', args: ['-m', '0600', fifo] });
        const written = watchFifo(fifo, WAIT_MS);
        let id: string | undefined;
        try {
          id = await start(fifoName);
          const exitAt = await written;
          const got = await book.waitFor(id, expect, WAIT_MS);
          checkExitCodes(got);
          const first = got.filter((e) => e.kind === 'public').reduce((a, b) => (b.receivedAt < a.receivedAt ? b : a));
          const sample: Sample = { first: first.receivedAt - exitAt };
          if (first.exitedAtMs !== undefined) sample['stamp'] = wallMs(first.receivedAt) - first.exitedAtMs;
          for (const e of got) {
            labels.add(e.label);
            sample[`via ${e.label}`] ??= e.receivedAt - exitAt;
          }
          return sample;
        } finally {
          written.catch(() => undefined);
          if (id) await cleanup(id).catch((err: unknown) => env.log(`[5] removing ${id}: ${(err as Error).message}`));
          unlinkSync(fifo);
        }
      };
      const contestants: Contestant[] = [
        {
          name: 'berth',
          sample: (label) =>
            withFifo(
              label,
              async (fifoName) => {
                const spec = {
                  image,
                  cmd: { args: exitScript(fifoName) },
                  networks: [{ network: 'none' }],
                  mounts: [{ type: 'bind', source: dir, target: '/out', options: [] }],
                };
                const reply = (await requestJson(nc, RUN_SUBJECT, { namespace: berth.namespace, name: label, spec }, WAIT_MS)) as { container?: { id?: string } };
                if (!reply.container?.id) throw new Error(`${RUN_SUBJECT} answered without a container id: ${JSON.stringify(reply).slice(0, 200)}`);
                return reply.container.id;
              },
              (got) => got.some((e) => e.kind === 'public'),
              (id) => requestJson(nc, REMOVE_SUBJECT, { namespace: berth.namespace, id, force: true }, WAIT_MS),
            ),
        },
        {
          name: 'containerd',
          sample: (label) =>
            withFifo(
              label,
              async (fifoName) => {
                const mount = `type=bind,src=${dir},dst=/out,options=rbind:rw`;
                await output(containerd.ctr('run', '-d', ...containerd.runArgs(), '--mount', mount, image, label, ...exitScript(fifoName)), SHORT_TIMEOUT_MS);
                return label;
              },
              (got) => got.some((e) => e.kind === 'public'),
              async (id) => {
                await output(containerd.ctr('tasks', 'rm', id), SHORT_TIMEOUT_MS);
                await output(containerd.ctr('containers', 'rm', id), SHORT_TIMEOUT_MS);
              },
            ),
        },
      ];
      const result = await runInterleaved(contestants, { ...counts, signal: env.signal, labelPrefix: 'exit', onSample: progress(env.log, 5) });
      const samples = (metric: string) => samplesOf(result, metric);
      const berthOnly = info.filter((c) => c.name === 'berth');
      return {
        id: 5,
        title: this.title,
        method: [
          `Each sample starts one detached busybox container running \`${exitScript('<fifo>')[2]}\` and waits for its exit event; samples are sequential, so the exit happens ${SLEEP_BEFORE_EXIT_S} s after the start returned, on an otherwise idle stack. berth’s containers are started and removed through the tasks service’s NATS API (how they are started does not enter the measurement, and it keeps the run short), containerd’s with ctr run -d / ctr tasks rm / ctr containers rm.`,
          'Exit moment: the harness reads a FIFO bind-mounted into the container; the container writes it as its last act before exit, so the exit follows the reading by microseconds, on the same (monotonic) clock as the receipt.',
          `berth: core NATS subscriptions on berth.${berth.namespace}.events.tasks.exit (the durable public exit event, published by the tasks service, JetStream-stored and delivered to plain subscribers as published) and on berth.*.events.agent.task.exit (the agent’s own exit report, which the tasks service consumes before publishing), so the time to each step is reported too.`,
          'containerd: its /tasks/exit event as printed by a running `ctr events` (the event service’s gRPC stream, then a pipe).',
          'Cross-check: the first event’s own exit time (exited_at: conmon’s exit-file mtime, millisecond precision, for berth; the shim’s clock for containerd) against the wall-clock time of receipt.',
          'p50 is the median; p99 interpolates between the two highest ranks when there are fewer than 100 samples.',
        ],
        counts: { ...counts },
        contestants: info,
        metrics: [
          buildMetric({ id: 'first', title: 'exit → exit event received (tasks.exit; /tasks/exit)', unit: 'ms' }, info, samples('first')),
          buildMetric({ id: 'stamp', title: 'monitor’s exited_at → first event received', unit: 'ms' }, info, samples('stamp')),
          ...[...labels]
            .filter((l) => l !== '/tasks/exit')
            .sort()
            .map((l) => buildMetric({ id: `via ${l}`, title: `exit → ${l}`, unit: 'ms' }, berthOnly, samples(`via ${l}`))),
        ],
        errors: result.errors,
      };
    } finally {
      ctrEvents.kill('SIGTERM');
      await nc.close().catch(() => undefined);
    }
  },
};
