// Component versions the agent reports (GetInfo, heartbeats): its own, the
// runtime's, the monitor's, the CNI plugins' and the kernel's. Read once at
// start: the binaries do not change under a running agent.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { release } from 'node:os';
import { runCommand } from '../command.js';

/** "runc version 1.1.5+ds1\ncommit: …" → "1.1.5+ds1". Pure. */
export function versionFromOutput(output: string): string | undefined {
  const first = output.split('\n').find((l) => l.trim() !== '') ?? '';
  const m = /version\s+(\S+)/i.exec(first);
  return m?.[1];
}

/**
 * A CNI plugin's `--version` ("CNI bridge plugin v1.1.1" or, in Debian's
 * build, "CNI bridge plugin version unknown" plus the protocol versions it
 * speaks): the plugin version when known, else the newest protocol. Pure.
 */
export function cniVersionFromOutput(output: string): string | undefined {
  const lines = output.split('\n');
  const plugin = /plugin\s+(?:version\s+)?v?(\d[\w.+~-]*)/i.exec(lines[0] ?? '')?.[1];
  if (plugin) return plugin;
  const protocols = /protocol versions supported:\s*(.+)$/im.exec(output)?.[1]?.split(',').map((s) => s.trim()).filter(Boolean);
  const newest = protocols?.[protocols.length - 1];
  return newest ? `unknown (CNI spec ${newest})` : undefined;
}

async function versionOf(binary: string, parse: (out: string) => string | undefined): Promise<string> {
  try {
    const r = await runCommand(binary, ['--version'], { timeoutMs: 10_000 });
    const v = parse(`${r.stdout}\n${r.stderr}`.trim());
    if (r.code === 0 && v) return v;
    return `unknown (${binary} --version: ${r.code !== null ? `exit code ${r.code}` : `signal ${r.signal}`})`;
  } catch (err) {
    return `unavailable (${(err as Error).message})`;
  }
}

async function firstPlugin(dirs: readonly string[]): Promise<string | undefined> {
  for (const name of ['bridge', 'loopback']) {
    for (const dir of dirs) {
      const path = join(dir, name);
      if (await access(path).then(() => true, () => false)) return path;
    }
  }
  return undefined;
}

export interface VersionSources {
  agentVersion: string;
  runtimePath: string;
  conmonPath: string;
  cniPluginDirs: readonly string[];
}

export async function componentVersions(src: VersionSources): Promise<Record<string, string>> {
  const plugin = await firstPlugin(src.cniPluginDirs);
  const [runc, conmon, cni] = await Promise.all([
    versionOf(src.runtimePath, versionFromOutput),
    versionOf(src.conmonPath, versionFromOutput),
    plugin ? versionOf(plugin, cniVersionFromOutput) : Promise.resolve(`unavailable (no CNI plugins in ${src.cniPluginDirs.join(', ')})`),
  ]);
  return { agent: src.agentVersion, runc, conmon, cni, kernel: release() };
}
