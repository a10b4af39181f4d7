// `version`: the client's version and each service's, from the state files
// the services write at start (<runtimeDir>/<service>.json): no RPC, so it
// answers at once and also when berth is down.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { humanDuration } from '../format/units.js';
import { printJson, renderTemplateList, type Format } from '../output.js';
import { runtimeDirOf, type GlobalOptions } from '../stack-options.js';
import { cliVersion } from '../version.js';

export const SERVICES = ['images', 'snapshots', 'tasks', 'networking', 'agent'] as const;

export interface ComponentVersion {
  name: string;
  running: boolean;
  version: string | null;
  pid: number | null;
  node: string | null;
  startedAt: string | null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A service's version from its state file; not running when the file is absent or its pid is gone. */
export function componentVersion(runtimeDir: string, name: string): ComponentVersion {
  const none = { name, running: false, version: null, pid: null, node: null, startedAt: null };
  let state: { version?: unknown; pid?: unknown; node?: unknown; startedAt?: unknown };
  try {
    state = JSON.parse(readFileSync(join(runtimeDir, `${name}.json`), 'utf8')) as typeof state;
  } catch {
    return none;
  }
  const pid = typeof state.pid === 'number' ? state.pid : null;
  if (pid === null || !alive(pid)) return none;
  return {
    name,
    running: true,
    version: typeof state.version === 'string' ? state.version : null,
    pid,
    node: typeof state.node === 'string' ? state.node : null,
    startedAt: typeof state.startedAt === 'string' ? state.startedAt : null,
  };
}

export function versionInfo(runtimeDir: string) {
  return {
    client: { version: cliVersion(), node: process.version, platform: `${process.platform}/${process.arch}` },
    server: { runtimeDir, components: SERVICES.map((name) => componentVersion(runtimeDir, name)) },
  };
}

export function renderVersion(info: ReturnType<typeof versionInfo>, now: Date = new Date()): string {
  const lines = [
    'Client:',
    ` Version:   ${info.client.version}`,
    ` Node.js:   ${info.client.node}`,
    ` Platform:  ${info.client.platform}`,
    '',
    `Server (${info.server.runtimeDir}):`,
  ];
  const width = Math.max(...info.server.components.map((c) => c.name.length)) + 2;
  for (const c of info.server.components) {
    const label = `${c.name}:`.padEnd(width);
    if (!c.running) lines.push(` ${label} not running`);
    else {
      const up = c.startedAt ? `, up ${humanDuration(now.getTime() - Date.parse(c.startedAt))}` : '';
      lines.push(` ${label} ${c.version ?? 'unknown'} (pid ${c.pid}${c.node ? `, node ${c.node}` : ''}${up})`);
    }
  }
  return lines.join('\n') + '\n';
}

export async function version(g: GlobalOptions, format: Format): Promise<number> {
  const info = versionInfo(runtimeDirOf(g));
  if (format === 'json') printJson(g.io, info);
  else if (format === 'table') g.io.stdout.write(renderVersion(info));
  else g.io.stdout.write(renderTemplateList(format.template, [info]));
  return 0;
}
