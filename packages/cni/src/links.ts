import { validateIfname, validateNetnsName } from './names.js';
import { ForeignResourceError } from './errors.js';
import { runProcess, runTool } from './process.js';

export interface LinkInfo {
  name: string;
  /** Kernel link kind from `ip -d link` (bridge, veth, macvlan, ...), undefined for plain devices. */
  kind: string | undefined;
  /** Name of the master device (the bridge a veth is enslaved to). */
  master: string | undefined;
  up: boolean;
}

interface IpLinkJson {
  ifname: string;
  flags?: string[];
  master?: string;
  linkinfo?: { info_kind?: string };
}

/** Interfaces of the host, or of a named netns. */
export async function listLinks(netns?: string): Promise<LinkInfo[]> {
  const args = ['-j', '-d'];
  if (netns !== undefined) {
    validateNetnsName(netns);
    args.push('-n', netns);
  }
  const out = await runTool('ip', [...args, 'link', 'show']);
  const links = JSON.parse(out || '[]') as IpLinkJson[];
  return links.map((l) => ({
    name: l.ifname,
    kind: l.linkinfo?.info_kind,
    master: l.master,
    up: (l.flags ?? []).includes('UP'),
  }));
}

export async function linkExists(name: string, netns?: string): Promise<boolean> {
  validateIfname(name);
  return (await listLinks(netns)).some((l) => l.name === name);
}

/** Deletes a host interface; resolves false when it did not exist. */
export async function deleteLink(name: string): Promise<boolean> {
  if (!(await linkExists(name))) return false;
  await runTool('ip', ['link', 'delete', name]);
  return true;
}

const ISOLATION_COMMENT = 'CNI firewall plugin rules (ingressPolicy: same-bridge)';

/** The per-bridge rules the firewall plugin's "same-bridge" ingress policy adds and, by design, never removes. */
function isolationRules(bridge: string): { chain: string; spec: string[] }[] {
  const comment = ['-m', 'comment', '--comment', ISOLATION_COMMENT];
  return [
    { chain: 'CNI-ISOLATION-STAGE-1', spec: ['-i', bridge, '!', '-o', bridge, '-j', 'CNI-ISOLATION-STAGE-2', ...comment] },
    { chain: 'CNI-ISOLATION-STAGE-2', spec: ['-o', bridge, '-j', 'DROP', ...comment] },
  ];
}

async function deleteRuleWhilePresent(tool: string, chain: string, spec: string[]): Promise<number> {
  let removed = 0;
  for (;;) {
    let check;
    try {
      check = await runProcess(tool, ['-w', '-t', 'filter', '-C', chain, ...spec], { timeoutMs: 30_000 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return removed; // tool not installed: no rules of it either
      throw e;
    }
    if (check.code !== 0) return removed; // rule (or chain) absent
    await runTool(tool, ['-w', '-t', 'filter', '-D', chain, ...spec]);
    removed++;
  }
}

/** Throws unless the host has no interface `name` or it is a bridge (so removing "the bridge" never deletes a NIC or a veth). */
export async function assertBridgeOrAbsent(name: string): Promise<void> {
  validateIfname(name);
  const link = (await listLinks()).find((l) => l.name === name);
  if (link && link.kind !== 'bridge') {
    throw new ForeignResourceError(`host interface ${name} is ${link.kind ? `a ${link.kind} device` : 'a plain device'}, not a bridge: it is left alone`);
  }
}

/**
 * Removes a network's bridge: the device, and the firewall plugin's
 * isolation rules for it (iptables and ip6tables). Used when a network is
 * deleted; the bridge plugin itself never deletes bridges. An interface of
 * that name that is not a bridge is refused. Returns whether the device
 * existed and how many rules were removed.
 */
export async function removeBridge(name: string): Promise<{ deleted: boolean; rulesRemoved: number }> {
  await assertBridgeOrAbsent(name);
  const deleted = await deleteLink(name);
  let rulesRemoved = 0;
  for (const tool of ['iptables', 'ip6tables']) {
    for (const rule of isolationRules(name)) rulesRemoved += await deleteRuleWhilePresent(tool, rule.chain, rule.spec);
  }
  return { deleted, rulesRemoved };
}
