import { validateNetworkName, validatePluginType } from './names.js';
import type { NetworkConfigList, PluginConf } from './types.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks a conflist (object or JSON text) against the CNI 1.0 shape and returns
 * it typed. Errors name the offending field.
 */
export function parseConflist(input: unknown): NetworkConfigList {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw new Error(`CNI conflist is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!isObject(value)) throw new Error('CNI conflist must be a JSON object');
  const { cniVersion, name, plugins, disableCheck } = value;
  if (typeof cniVersion !== 'string' || !/^\d+\.\d+\.\d+$/.test(cniVersion)) {
    throw new Error(`CNI conflist "cniVersion" must be a version like "1.0.0", got ${JSON.stringify(cniVersion)}`);
  }
  if (typeof name !== 'string') throw new Error('CNI conflist has no "name"');
  validateNetworkName(name);
  if (disableCheck !== undefined && typeof disableCheck !== 'boolean') {
    throw new Error(`CNI conflist "${name}": "disableCheck" must be a boolean`);
  }
  if (!Array.isArray(plugins) || plugins.length === 0) {
    throw new Error(`CNI conflist "${name}": "plugins" must be a non-empty array`);
  }
  plugins.forEach((p, i) => {
    if (!isObject(p)) throw new Error(`CNI conflist "${name}": plugins[${i}] must be an object`);
    try {
      validatePluginType(p.type as string);
    } catch (e) {
      throw new Error(`CNI conflist "${name}": plugins[${i}]: ${(e as Error).message}`);
    }
    if (p.capabilities !== undefined) {
      if (!isObject(p.capabilities) || !Object.values(p.capabilities).every((x) => typeof x === 'boolean')) {
        throw new Error(`CNI conflist "${name}": plugins[${i}].capabilities must map names to booleans`);
      }
    }
  });
  return value as unknown as NetworkConfigList;
}

/** Compares dotted versions numerically: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The stdin a plugin receives (libcni buildOneConfig + injectRuntimeConfig):
 * the plugin entry with the list's name and cniVersion, the previous result when
 * chaining, and runtimeConfig holding only the capabilities the plugin declares.
 */
export function buildPluginConfig(
  list: NetworkConfigList,
  plugin: PluginConf,
  prevResult: unknown,
  capabilityArgs: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  delete conf.prevResult;
  delete conf.runtimeConfig;
  if (prevResult !== undefined && prevResult !== null) conf.prevResult = prevResult;
  const rc: Record<string, unknown> = {};
  for (const [cap, enabled] of Object.entries(plugin.capabilities ?? {})) {
    if (enabled && capabilityArgs && capabilityArgs[cap] !== undefined) rc[cap] = capabilityArgs[cap];
  }
  if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
  return conf;
}
