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

// What iptables (legacy and nft) print for a table or chain that is not there;
// any other failure is an error, never silently "nothing to sweep".
const ABSENT = /does not exist|No chain\/target\/match|can't initialize|incompatible, use 'nft'/i;

/** `tool -t nat -S what`: its output, or undefined when the table or chain does not exist. */
async function listNat(tool: string, what: string): Promise<string | undefined> {
  const res = await runProcess(tool, ['-w', '-t', 'nat', '-S', what], { timeoutMs: 30_000 });
  if (res.code === 0) return res.stdout;
  if (!res.timedOut && ABSENT.test(res.stderr)) return undefined;
  const why = res.timedOut ? 'timed out' : res.stderr.trim() || `exit ${res.code ?? res.signal}`;
  throw new Error(`${tool} -t nat -S ${what} failed: ${why}`);
}

async function sweepWith(tool: string, chain: string): Promise<number> {
  let rules: string | undefined;
  try {
    rules = await listNat(tool, 'POSTROUTING');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0; // tool not installed: no rules of it either
    throw e;
  }
  if (rules === undefined) return 0; // no nat table for this family
  let removed = 0;
  for (const line of rules.split('\n')) {
    const tokens = line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
    if (tokens[0] !== '-A' || !tokens.some((t, i) => t === chain && tokens[i - 1] === '-j')) continue;
    const spec = tokens.slice(2).map((t) => (t.startsWith('"') ? t.slice(1, -1).replace(/\\(.)/g, '$1') : t));
    await runTool(tool, ['-w', '-t', 'nat', '-D', 'POSTROUTING', ...spec]);
    removed++;
  }
  if ((await listNat(tool, chain)) !== undefined) {
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
