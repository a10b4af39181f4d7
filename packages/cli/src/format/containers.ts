// Containers as `ps`, `inspect` and friends show them.
import * as tasks from '@berth/api/tasks';
import { dateFromTimestamp, type Timestamp } from '@berth/api/timestamps';
import * as types from '@berth/api/types';
import { formatPublished, type PortProtocol } from '../parse/ports.js';
import { humanDuration, shortId, timeAgo, truncate } from './units.js';

/** Docker's state names: created, running, paused, restarting, exited, unknown. */
export function containerState(c: tasks.Container): string {
  switch (c.status?.state) {
    case tasks.ContainerState.CREATED:
      return 'created';
    case tasks.ContainerState.RUNNING:
      return 'running';
    case tasks.ContainerState.PAUSED:
      return 'paused';
    case tasks.ContainerState.RESTARTING:
      return 'restarting';
    case tasks.ContainerState.STOPPED:
      return 'exited';
    default:
      return 'unknown';
  }
}

export const isRunning = (c: tasks.Container): boolean =>
  c.status?.state === tasks.ContainerState.RUNNING || c.status?.state === tasks.ContainerState.PAUSED;

const dateOf = (t: Timestamp | undefined): Date | undefined => (t ? dateFromTimestamp(t) : undefined);

/** STATUS as `ps` shows it: "Up 5 seconds", "Up 1 minute (Paused)", "Exited (0) 5 seconds ago", "Created". */
export function containerStatus(c: tasks.Container, now: Date = new Date()): string {
  const s = c.status;
  const started = dateOf(s?.startedAt);
  const exited = dateOf(s?.exitStatus?.exitedAt);
  const since = (d: Date | undefined) => (d ? humanDuration(Math.max(0, now.getTime() - d.getTime())) : '');
  switch (containerState(c)) {
    case 'running':
      return started ? `Up ${since(started)}` : 'Up';
    case 'paused':
      return started ? `Up ${since(started)} (Paused)` : 'Up (Paused)';
    case 'restarting':
      return `Restarting (${s?.exitStatus?.exitCode ?? 0}) ${exited ? `${since(exited)} ago` : ''}`.trimEnd();
    case 'exited':
      return exited ? `Exited (${s?.exitStatus?.exitCode ?? 0}) ${since(exited)} ago` : `Exited (${s?.exitStatus?.exitCode ?? 0})`;
    case 'created':
      return s?.error ? `Created (start failed: ${truncate(s.error, 60)})` : 'Created';
    default:
      return 'Unknown';
  }
}

/** The process a container runs: the runtime spec's args, else the spec's entrypoint and command. */
export function commandArgs(c: tasks.Container): string[] {
  if (c.runtimeSpecJson.length > 0) {
    try {
      const spec = JSON.parse(Buffer.from(c.runtimeSpecJson).toString('utf8')) as { process?: { args?: unknown } };
      const args = spec.process?.args;
      if (Array.isArray(args)) return args.map(String);
    } catch {
      // fall back to what was asked for
    }
  }
  return [...(c.spec?.entrypoint?.args ?? []), ...(c.spec?.cmd?.args ?? [])];
}

/** COMMAND as `ps` shows it: quoted, cut to 20 characters unless told otherwise. */
export function commandText(c: tasks.Container, noTrunc = false): string {
  const text = commandArgs(c).join(' ');
  return `"${noTrunc ? text : truncate(text, 20)}"`;
}

const PROTOCOLS: Record<string, PortProtocol> = {
  [types.Protocol.UDP]: 'udp',
  [types.Protocol.SCTP]: 'sctp',
};

export function portText(p: types.PortMapping): string {
  return formatPublished({ ...p, protocol: PROTOCOLS[p.protocol] ?? 'tcp' });
}

/** PORTS as `ps` shows them: "127.0.0.1:8080->80/tcp, 127.0.0.1:8443->443/tcp". */
export function portsText(c: tasks.Container): string {
  const ports = c.status?.ports.length ? c.status.ports : (c.spec?.ports ?? []);
  return ports.map(portText).join(', ');
}

/** Short image name as Docker shows it ("busybox", "127.0.0.1:5000/app:1"). */
export function familiarImage(name: string): string {
  const m = /^docker\.io\/(?:library\/)?(.+)$/.exec(name);
  return m ? m[1]! : name;
}

/** One `ps` row object: what --format json prints and templates see (Docker's field names). */
export function psObject(c: tasks.Container, now: Date = new Date()) {
  const created = dateOf(c.createdAt);
  return {
    ID: c.id,
    Names: c.name,
    Image: c.spec?.image || c.imageName,
    ImageName: c.imageName,
    ImageID: c.imageId,
    Command: commandArgs(c).join(' '),
    CreatedAt: created?.toISOString() ?? null,
    RunningFor: timeAgo(created, now),
    State: containerState(c),
    Status: containerStatus(c, now),
    ExitCode: c.status?.exitStatus ? c.status.exitStatus.exitCode : null,
    Ports: portsText(c),
    Networks: (c.spec?.networks ?? []).map((n) => n.network).join(',') || (c.status?.addresses ?? []).map((a) => a.network).join(','),
    Node: c.status?.nodeId ?? '',
    Labels: c.spec?.labels ?? {},
  };
}

export type PsObject = ReturnType<typeof psObject>;

export interface PsColumnsOptions {
  noTrunc: boolean;
}

/** The `ps` table columns. */
export function psColumns(o: PsColumnsOptions, now: Date = new Date()) {
  return [
    { header: 'CONTAINER ID', cell: (c: tasks.Container) => (o.noTrunc ? c.id : shortId(c.id)) },
    { header: 'IMAGE', cell: (c: tasks.Container) => familiarImage(c.spec?.image || c.imageName) },
    { header: 'COMMAND', cell: (c: tasks.Container) => commandText(c, o.noTrunc) },
    { header: 'CREATED', cell: (c: tasks.Container) => timeAgo(dateOf(c.createdAt), now) },
    { header: 'STATUS', cell: (c: tasks.Container) => containerStatus(c, now) },
    { header: 'PORTS', cell: (c: tasks.Container) => portsText(c) },
    { header: 'NAMES', cell: (c: tasks.Container) => c.name },
  ];
}
