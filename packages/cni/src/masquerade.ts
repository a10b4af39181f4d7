import { createHash } from 'node:crypto';
import { runProcess, runTool } from './process.js';
import type { NetworkConfigList } from './types.js';

/**
 * The per-container nat chain the bridge/ptp plugins create for ipMasq
 * (plugins' utils.FormatChainName: "CNI-" + first 24 hex of sha512(name+id)).
 */
export function masqueradeChainName(network: string, containerId: string): string {
  return `CNI-${createHash('sha512').update(network + containerId).digest('hex').slice(0, 24)}`;
}

function usesIpMasq(list: NetworkConfigList): boolean {
  return list.plugins.some((p) => (p.type === 'bridge' || p.type === 'ptp') && p.ipMasq === true);
}

async function sweepWith(tool: string, chain: string): Promise<number> {
  let rules: string;
  try {
    const res = await runProcess(tool, ['-w', '-t', 'nat', '-S', 'POSTROUTING'], { timeoutMs: 30_000 });
    if (res.code !== 0) return 0; // no nat table for this family
    rules = res.stdout;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  let removed = 0;
  for (const line of rules.split('\n')) {
    const tokens = line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
    if (tokens[0] !== '-A' || !tokens.some((t, i) => t === chain && tokens[i - 1] === '-j')) continue;
    const spec = tokens.slice(2).map((t) => (t.startsWith('"') ? t.slice(1, -1).replace(/\\(.)/g, '$1') : t));
    await runTool(tool, ['-w', '-t', 'nat', '-D', 'POSTROUTING', ...spec]);
    removed++;
  }
  const exists = await runProcess(tool, ['-w', '-t', 'nat', '-S', chain], { timeoutMs: 30_000 });
  if (exists.code === 0) {
    await runTool(tool, ['-w', '-t', 'nat', '-F', chain]);
    await runTool(tool, ['-w', '-t', 'nat', '-X', chain]);
  }
  return removed;
}

/**
 * Removes a container's ipMasq chain and every POSTROUTING jump to it.
 * The bridge plugin (1.1.x) only tears these down for addresses it still
 * finds on the container's interface, so an interface or netns that vanished
 * before DEL leaks them, and a later attachment with the same container id
 * then fails to delete the shared chain. cniDel sweeps after the plugins
 * (before them would make the plugin's own teardown fail on the missing
 * chain). Returns how many POSTROUTING rules were removed.
 */
export async function sweepMasquerade(list: NetworkConfigList, containerId: string): Promise<number> {
  if (!usesIpMasq(list)) return 0;
  const chain = masqueradeChainName(list.name, containerId);
  let removed = 0;
  for (const tool of ['iptables', 'ip6tables']) removed += await sweepWith(tool, chain);
  return removed;
}
