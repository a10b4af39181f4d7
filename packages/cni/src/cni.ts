import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import {
  listCacheDir,
  readCachedAttachment,
  removeCachedAttachment,
  writeCachedAttachment,
  type AttachmentKey,
  type CachedAttachment,
} from './cache.js';
import { buildPluginConfig, compareVersions, parseConflist } from './conflist.js';
import { CniDelError } from './errors.js';
import { validateContainerId, validateIfname, validateNetnsName } from './names.js';
import { sweepMasquerade } from './masquerade.js';
import { NETNS_DIR } from './netns.js';
import { invokePlugin } from './plugin-exec.js';
import {
  resolveCniConfig,
  type CniConfig,
  type CniResult,
  type NetworkConfigList,
  type ResolvedCniConfig,
  type RuntimeConf,
} from './types.js';

/** A netns path as given, or /run/netns/<name> for a bare name. Empty stays empty. */
export function resolveNetnsPath(netns: string): string {
  if (netns === '') return '';
  if (netns.includes('/')) {
    if (!isAbsolute(netns)) throw new Error(`netns path ${JSON.stringify(netns)} must be absolute`);
    return netns;
  }
  validateNetnsName(netns);
  return `${NETNS_DIR}/${netns}`;
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

function keyOf(list: NetworkConfigList, rt: RuntimeConf): AttachmentKey {
  return { networkName: list.name, containerId: rt.containerId, ifname: rt.ifname };
}

function validateRuntime(rt: RuntimeConf): void {
  validateContainerId(rt.containerId);
  validateIfname(rt.ifname);
}

interface DelInputs {
  list: NetworkConfigList;
  containerId: string;
  ifname: string;
  netns: string;
  args: Record<string, string>;
  capabilityArgs: Record<string, unknown>;
  prevResult: unknown;
}

/** DEL through every plugin in reverse order; keeps going past failures so one broken plugin does not leak the rest. */
async function delPlugins(d: DelInputs, cfg: ResolvedCniConfig): Promise<Error[]> {
  const errors: Error[] = [];
  for (const plugin of [...d.list.plugins].reverse()) {
    try {
      await invokePlugin(
        {
          command: 'DEL',
          plugin: plugin.type,
          network: d.list.name,
          containerId: d.containerId,
          netns: d.netns,
          ifname: d.ifname,
          args: d.args,
          stdin: buildPluginConfig(d.list, plugin, d.prevResult, d.capabilityArgs),
        },
        cfg,
      );
    } catch (e) {
      errors.push(e as Error);
    }
  }
  return errors;
}

function noteCleanupFailure(err: unknown, cleanup: Error[]): unknown {
  if (cleanup.length === 0 || !(err instanceof Error)) return err;
  err.message += `; cleaning up after the failure also failed: ${cleanup.map((c) => c.message).join('; ')}`;
  Object.assign(err, { cleanupErrors: cleanup });
  return err;
}

/**
 * CNI ADD of a conflist: runs its plugins in order, each getting the previous
 * plugin's result, and returns the last result. The result is cached on disk
 * (with the conflist and runtime arguments) for DEL and CHECK. When a plugin
 * fails, the whole list is DELeted again so nothing is left half set up, and
 * the plugin's error is thrown.
 */
export async function cniAdd(conflist: NetworkConfigList | string, rt: RuntimeConf, config?: CniConfig): Promise<CniResult> {
  const cfg = resolveCniConfig(config);
  const list = parseConflist(conflist);
  validateRuntime(rt);
  const netns = resolveNetnsPath(rt.netns);
  if (netns === '') throw new Error(`CNI ADD for container ${rt.containerId} needs a netns`);
  if (!(await pathExists(netns))) throw new Error(`CNI ADD for container ${rt.containerId}: netns ${netns} does not exist`);
  const args = rt.args ?? {};
  const capabilityArgs = rt.capabilityArgs ?? {};

  let prev: Record<string, unknown> | undefined;
  try {
    for (const plugin of list.plugins) {
      prev = await invokePlugin(
        {
          command: 'ADD',
          plugin: plugin.type,
          network: list.name,
          containerId: rt.containerId,
          netns,
          ifname: rt.ifname,
          args,
          stdin: buildPluginConfig(list, plugin, prev, capabilityArgs),
        },
        cfg,
      );
    }
    const result = prev as CniResult;
    await writeCachedAttachment(cfg.cacheDir, {
      kind: 'berthCniCacheV1',
      ...keyOf(list, rt),
      netns,
      config: list,
      cniArgs: args,
      capabilityArgs,
      result,
      created: new Date().toISOString(),
    });
    return result;
  } catch (err) {
    const cleanup = await delPlugins(
      { list, containerId: rt.containerId, ifname: rt.ifname, netns, args, capabilityArgs, prevResult: prev },
      cfg,
    );
    throw noteCleanupFailure(err, cleanup);
  }
}

/**
 * CNI DEL of a conflist, plugins in reverse order, each given the cached ADD
 * result as prevResult. Capability and CNI args default to the cached ones
 * (portmap only removes its rules when it sees the same portMappings). A
 * netns that is already gone is passed as empty, as the spec allows, so
 * plugins still release what lives outside it (IPAM). The container's
 * ipMasq rules are swept afterwards (see sweepMasquerade). Succeeds when there is
 * nothing left to delete; on failure the cache entry stays for a retry.
 */
export async function cniDel(conflist: NetworkConfigList | string, rt: RuntimeConf, config?: CniConfig): Promise<void> {
  const cfg = resolveCniConfig(config);
  const list = parseConflist(conflist);
  validateRuntime(rt);
  const key = keyOf(list, rt);
  const cached = await readCachedAttachment(cfg.cacheDir, key);
  let netns = resolveNetnsPath(rt.netns || cached?.netns || '');
  if (netns !== '' && !(await pathExists(netns))) netns = '';
  const del: DelInputs = {
    list,
    containerId: rt.containerId,
    ifname: rt.ifname,
    netns,
    args: rt.args ?? cached?.cniArgs ?? {},
    capabilityArgs: rt.capabilityArgs ?? cached?.capabilityArgs ?? {},
    prevResult: cached?.result,
  };
  let errors = await delPlugins(del, cfg);
  try {
    // Stale masquerade rules make the bridge plugin's DEL fail ("chain busy");
    // once swept, one more DEL round goes through.
    const swept = await sweepMasquerade(list, rt.containerId);
    if (swept > 0 && errors.length > 0) errors = await delPlugins(del, cfg);
  } catch (e) {
    errors.push(e as Error);
  }
  if (errors.length > 0) throw new CniDelError(list.name, rt.containerId, errors);
  await removeCachedAttachment(cfg.cacheDir, key);
}

/**
 * CNI CHECK: every plugin in order verifies its part against the cached ADD
 * result. Throws the first plugin's error. A conflist with disableCheck is
 * not checked (the spec forbids calling CHECK on it).
 */
export async function cniCheck(conflist: NetworkConfigList | string, rt: RuntimeConf, config?: CniConfig): Promise<void> {
  const cfg = resolveCniConfig(config);
  const list = parseConflist(conflist);
  validateRuntime(rt);
  if (compareVersions(list.cniVersion, '0.4.0') < 0) {
    throw new Error(`CNI CHECK needs cniVersion 0.4.0 or later; network "${list.name}" uses ${list.cniVersion}`);
  }
  if (list.disableCheck) return;
  const cached = await readCachedAttachment(cfg.cacheDir, keyOf(list, rt));
  if (!cached) {
    throw new Error(
      `CNI CHECK of network "${list.name}" for container ${rt.containerId} (${rt.ifname}): no cached ADD result in ${cfg.cacheDir}`,
    );
  }
  const netns = resolveNetnsPath(rt.netns || cached.netns);
  if (!(await pathExists(netns))) {
    throw new Error(`CNI CHECK of network "${list.name}" for container ${rt.containerId}: netns ${netns} does not exist`);
  }
  const capabilityArgs = rt.capabilityArgs ?? cached.capabilityArgs;
  for (const plugin of list.plugins) {
    await invokePlugin(
      {
        command: 'CHECK',
        plugin: plugin.type,
        network: list.name,
        containerId: rt.containerId,
        netns,
        ifname: rt.ifname,
        args: rt.args ?? cached.cniArgs,
        stdin: buildPluginConfig(list, plugin, cached.result, capabilityArgs),
      },
      cfg,
    );
  }
}

/** The cached ADD (result, conflist, arguments) for an attachment, if any. */
export async function getCachedAttachment(key: AttachmentKey, config?: CniConfig): Promise<CachedAttachment | undefined> {
  return readCachedAttachment(resolveCniConfig(config).cacheDir, key);
}

/**
 * DEL of an attachment using only what its ADD cached (the conflist
 * included), e.g. for a container whose network definition is gone.
 * Resolves false when nothing is cached for it.
 */
export async function cniDelCached(key: AttachmentKey, config?: CniConfig): Promise<boolean> {
  const cached = await readCachedAttachment(resolveCniConfig(config).cacheDir, key);
  if (!cached) return false;
  await cniDel(
    cached.config,
    {
      containerId: cached.containerId,
      ifname: cached.ifname,
      netns: cached.netns,
      args: cached.cniArgs,
      capabilityArgs: cached.capabilityArgs,
    },
    config,
  );
  return true;
}

/** Every cached attachment (e.g. to DEL those whose container is gone); unreadable entries are listed, not skipped. */
export async function listCachedAttachments(
  config?: CniConfig,
): Promise<{ entries: CachedAttachment[]; unreadable: { file: string; error: string }[] }> {
  return listCacheDir(resolveCniConfig(config).cacheDir);
}
