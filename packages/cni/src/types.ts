/** One plugin entry of a conflist: `type` plus plugin-specific fields. */
export interface PluginConf {
  type: string;
  /** Capabilities this plugin consumes from the runtime (CNI CONVENTIONS: portMappings, ips, mac, ...). */
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A CNI network configuration list (spec 1.0 "conflist"). */
export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: PluginConf[];
}

/** Per-attachment parameters, the libcni RuntimeConf. */
export interface RuntimeConf {
  containerId: string;
  /** Path of the network namespace (e.g. /run/netns/x), or a bare netns name meaning /run/netns/<name>. */
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs. `IgnoreUnknown=1` is added unless present, so plugins skip keys they do not know. */
  args?: Record<string, string>;
  /** Values for plugin capabilities, e.g. { portMappings: [...], ips: ['10.0.0.5/24'], mac: '..' }. */
  capabilityArgs?: Record<string, unknown>;
}

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

export interface CniIpConfig {
  address: string;
  gateway?: string;
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A CNI 1.0 success result. */
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
  [key: string]: unknown;
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

/** Where plugins live, where ADD results are cached, how long one plugin may run. */
export interface CniConfig {
  /** Directories searched, in order, for plugin binaries. Default ['/usr/lib/cni']. */
  pluginDirs?: string[];
  /** Directory for cached ADD results (like libcni's /var/lib/cni/results). Default /var/lib/berth/cni/results. */
  cacheDir?: string;
  /** Limit for one plugin invocation. Default 60 s. */
  timeoutMs?: number;
}

export const DEFAULT_PLUGIN_DIRS: readonly string[] = ['/usr/lib/cni'];
export const DEFAULT_CACHE_DIR = '/var/lib/berth/cni/results';
export const DEFAULT_TIMEOUT_MS = 60_000;

export interface ResolvedCniConfig {
  pluginDirs: string[];
  cacheDir: string;
  timeoutMs: number;
}

export function resolveCniConfig(cfg: CniConfig = {}): ResolvedCniConfig {
  const pluginDirs = cfg.pluginDirs && cfg.pluginDirs.length > 0 ? [...cfg.pluginDirs] : [...DEFAULT_PLUGIN_DIRS];
  const timeoutMs = cfg.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error(`CNI timeoutMs must be a positive number, got ${timeoutMs}`);
  return { pluginDirs, cacheDir: cfg.cacheDir ?? DEFAULT_CACHE_DIR, timeoutMs };
}
