import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { checkHealth, waitForHealth, type HealthStatus, type ServiceStateFile } from '@berth/service-kit';
import { livePid, removeStale, spawnDaemon, stopProcess } from './processes.js';

/** Start order: leaves first, the tasks service (which calls all the others) last. */
export const SERVICE_NAMES = ['snapshots', 'images', 'networking', 'agent', 'tasks'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface StackOptions {
  root: string;
  runtimeDir: string;
  /** An external NATS; when unset the stack runs its own nats-server. */
  natsUrl?: string;
  natsPort: number;
  natsBinary: string;
  node?: string;
  logLevel?: string;
  /** Extra environment for every service (e.g. BERTH_* settings). */
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs: number;
  /** Processes that live with the stack but serve no berth API (the CLI host). */
  companions?: Companion[];
}

/**
 * A Node program started after the services (with their environment) and
 * stopped before them; nothing waits for it to be ready, nothing needs it.
 */
export interface Companion {
  name: string;
  /** Its entry file, run with this Node. */
  main: string;
  /** Where it listens, for `system status`. */
  address?: string;
}

export function defaultStackOptions(env: NodeJS.ProcessEnv = process.env): StackOptions {
  return {
    root: env['BERTH_ROOT'] ?? '/var/lib/berth',
    runtimeDir: env['BERTH_RUNTIME_DIR'] ?? '/run/berth',
    ...(env['BERTH_NATS_URL'] ? { natsUrl: env['BERTH_NATS_URL'] } : {}),
    natsPort: Number(env['BERTH_NATS_PORT'] ?? 4222),
    natsBinary: env['BERTH_NATS_SERVER'] ?? 'nats-server',
    ...(env['BERTH_NODE'] ? { node: env['BERTH_NODE'] } : {}),
    readyTimeoutMs: 30_000,
  };
}

export interface ComponentStatus {
  name: string;
  kind: 'nats' | 'service' | 'companion';
  pid?: number;
  running: boolean;
  health: HealthStatus | 'EXTERNAL';
  address: string;
  version?: string;
  startedAt?: string;
}

const natsUrlOf = (o: StackOptions) => o.natsUrl ?? `nats://127.0.0.1:${o.natsPort}`;
const files = (o: StackOptions, name: string) => ({
  pid: join(o.runtimeDir, `${name}.pid`),
  state: join(o.runtimeDir, `${name}.json`),
  socket: join(o.runtimeDir, `${name}.sock`),
  log: join(o.root, 'logs', `${name}.log`),
});

/** The entry point of a service's package (its dist/main.js). */
// createRequire rather than import.meta.resolve: the latter is missing under
// some loaders (vitest's), and the "./main" export is a plain path either way.
const requireFromHere = createRequire(import.meta.url);
export function serviceMain(name: ServiceName): string {
  return requireFromHere.resolve(`@berth/${name}-service/main`);
}

function readState(path: string): ServiceStateFile | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ServiceStateFile;
  } catch {
    return undefined;
  }
}

function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => (s.destroy(), resolve(false)));
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export type UpEvent = { name: string; action: 'started' | 'running' | 'external' | 'replaced-stale' };

async function upNats(o: StackOptions, report: (e: UpEvent) => void): Promise<void> {
  if (o.natsUrl) return report({ name: 'nats', action: 'external' });
  const f = files(o, 'nats');
  if (livePid(f.pid, 'nats-server')) return report({ name: 'nats', action: 'running' });
  if (existsSync(f.pid)) {
    removeStale(f.pid);
    report({ name: 'nats', action: 'replaced-stale' });
  }
  if (await tcpOpen(o.natsPort)) {
    throw new Error(`port ${o.natsPort} is taken by another program; set BERTH_NATS_PORT or BERTH_NATS_URL`);
  }
  const store = join(o.root, 'nats');
  mkdirSync(store, { recursive: true, mode: 0o700 });
  spawnDaemon(o.natsBinary, ['-a', '127.0.0.1', '-p', String(o.natsPort), '-js', '-sd', store, '-n', 'berth'], {
    logFile: f.log,
    pidFile: f.pid,
  });
  if (!(await waitFor(() => tcpOpen(o.natsPort), o.readyTimeoutMs))) {
    throw new Error(`nats-server did not accept connections on 127.0.0.1:${o.natsPort}; see ${f.log}`);
  }
  report({ name: 'nats', action: 'started' });
}

function serviceEnv(o: StackOptions): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...o.env,
    BERTH_ROOT: o.root,
    BERTH_RUNTIME_DIR: o.runtimeDir,
    BERTH_NATS_URL: natsUrlOf(o),
    BERTH_LOG_FORMAT: 'json',
    ...(o.node ? { BERTH_NODE: o.node } : {}),
    ...(o.logLevel ? { BERTH_LOG_LEVEL: o.logLevel } : {}),
  };
}

/**
 * Starts NATS (unless external) and every service that is not already running
 * and healthy, each as its own detached process; waits until all are SERVING.
 * Idempotent: a running service is left alone, a crashed one (dead pid, stale
 * socket) is started again.
 */
export async function systemUp(o: StackOptions, report: (e: UpEvent) => void = () => {}): Promise<ComponentStatus[]> {
  mkdirSync(join(o.root, 'logs'), { recursive: true, mode: 0o750 });
  mkdirSync(o.runtimeDir, { recursive: true, mode: 0o755 });
  await upNats(o, report);
  const started: { name: ServiceName; socket: string; log: string }[] = [];
  for (const name of SERVICE_NAMES) {
    const f = files(o, name);
    const main = serviceMain(name);
    if (livePid(f.pid, main)) {
      report({ name, action: 'running' });
      started.push({ name, socket: f.socket, log: f.log });
      continue;
    }
    if (existsSync(f.pid) || existsSync(f.state)) {
      removeStale(f.pid, f.state);
      report({ name, action: 'replaced-stale' });
    }
    spawnDaemon(process.execPath, [main], { logFile: f.log, pidFile: f.pid, env: serviceEnv(o) });
    report({ name, action: 'started' });
    started.push({ name, socket: f.socket, log: f.log });
  }
  const failures: string[] = [];
  await Promise.all(
    started.map(async (s) => {
      if (!(await waitForHealth(s.socket, o.readyTimeoutMs))) failures.push(`${s.name} (see ${s.log})`);
    }),
  );
  if (failures.length) throw new Error(`not healthy after ${o.readyTimeoutMs / 1000}s: ${failures.join(', ')}`);
  for (const c of o.companions ?? []) {
    const f = files(o, c.name);
    if (livePid(f.pid, c.main)) {
      report({ name: c.name, action: 'running' });
      continue;
    }
    if (existsSync(f.pid)) removeStale(f.pid);
    // in /: it must not keep the directory `up` was run from busy, nor depend on it
    spawnDaemon(process.execPath, [c.main], { logFile: f.log, pidFile: f.pid, env: serviceEnv(o), cwd: '/' });
    report({ name: c.name, action: 'started' });
  }
  return systemStatus(o);
}

/** Health, pid, address and version of NATS and each service. */
export async function systemStatus(o: StackOptions): Promise<ComponentStatus[]> {
  const out: ComponentStatus[] = [];
  if (o.natsUrl) {
    out.push({ name: 'nats', kind: 'nats', running: true, health: 'EXTERNAL', address: o.natsUrl });
  } else {
    const pid = livePid(files(o, 'nats').pid, 'nats-server');
    const ok = pid !== undefined && (await tcpOpen(o.natsPort));
    out.push({
      name: 'nats',
      kind: 'nats',
      ...(pid ? { pid } : {}),
      running: pid !== undefined,
      health: ok ? 'SERVING' : 'UNREACHABLE',
      address: natsUrlOf(o),
    });
  }
  for (const name of SERVICE_NAMES) {
    const f = files(o, name);
    const pid = livePid(f.pid, serviceMain(name));
    const state = pid ? readState(f.state) : undefined;
    out.push({
      name,
      kind: 'service',
      ...(pid ? { pid } : {}),
      running: pid !== undefined,
      health: pid ? await checkHealth(f.socket) : 'UNREACHABLE',
      address: `unix:${f.socket}`,
      ...(state ? { version: state.version, startedAt: state.startedAt } : {}),
    });
  }
  for (const c of o.companions ?? []) {
    // no health check of its own: a companion that runs serves (nothing waits for one)
    const pid = livePid(files(o, c.name).pid, c.main);
    out.push({ name: c.name, kind: 'companion', ...(pid ? { pid } : {}), running: pid !== undefined, health: pid ? 'SERVING' : 'UNREACHABLE', address: c.address ?? '-' });
  }
  return out;
}

/** Stops every service (reverse order) and the stack's own NATS, gracefully. */
export async function systemDown(o: StackOptions, report: (name: string, how: string) => void = () => {}): Promise<void> {
  for (const c of o.companions ?? []) {
    const f = files(o, c.name);
    const pid = livePid(f.pid, c.main);
    report(c.name, pid ? await stopProcess(pid, 15_000) : 'absent');
    removeStale(f.pid);
  }
  for (const name of [...SERVICE_NAMES].reverse()) {
    const f = files(o, name);
    const pid = livePid(f.pid, serviceMain(name));
    report(name, pid ? await stopProcess(pid, 20_000) : 'absent');
    removeStale(f.pid, f.state);
  }
  if (!o.natsUrl) {
    const f = files(o, 'nats');
    const pid = livePid(f.pid, 'nats-server');
    report('nats', pid ? await stopProcess(pid, 10_000) : 'absent');
    removeStale(f.pid);
  }
}
