import { validateIfname } from '@berth/cni';
import {
  cidrContains,
  cidrContainsCidr,
  cidrLast,
  cidrsOverlap,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
  usableRange,
  type Cidr,
} from './ip/cidr.js';
import { NetworkingError, invalid } from './errors.js';
import {
  HOST_NETWORK,
  NONE_NETWORK,
  type CreateNetworkRequest,
  type Network,
  type NetworkDriver,
  type SubnetConfig,
  type SubnetRequest,
} from './network-model.js';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const DRIVERS: readonly NetworkDriver[] = ['bridge', 'macvlan', 'ipvlan'];
const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru'];
const IPVLAN_MODES = ['l2', 'l3', 'l3s'];
const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';
const MTU_OPTIONS = ['mtu', 'com.docker.network.driver.mtu'];

export function validateNetworkName(name: string): void {
  if (typeof name !== 'string' || name === '') throw invalid('network name is empty');
  if (name.length > 64 || !NAME.test(name)) {
    throw invalid(
      `invalid network name ${JSON.stringify(name)}: must start with a letter or digit and contain only letters, digits, '_', '.', '-' (at most 64)`,
    );
  }
  if (name === NONE_NETWORK || name === HOST_NETWORK) throw invalid(`network name "${name}" is reserved`);
}

/** Known driver options, checked and normalised; anything else is refused so typos do not pass silently. */
export function validateOptions(driver: NetworkDriver, options: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(options)) {
    if (typeof v !== 'string') throw invalid(`network option ${k} must be a string`);
    if (MTU_OPTIONS.includes(k)) {
      const mtu = Number(v);
      if (!/^\d+$/.test(v) || mtu < 68 || mtu > 65535) throw invalid(`network option ${k}=${v}: MTU must be 68..65535`);
      out.mtu = String(mtu);
    } else if (k === 'mode') {
      const modes = driver === 'macvlan' ? MACVLAN_MODES : driver === 'ipvlan' ? IPVLAN_MODES : [];
      if (!modes.includes(v)) {
        throw invalid(
          modes.length === 0
            ? `network option mode is only for macvlan and ipvlan networks`
            : `network option mode=${v}: ${driver} modes are ${modes.join(', ')}`,
        );
      }
      out.mode = v;
    } else if (k.startsWith('sysctl.')) {
      const key = k.slice('sysctl.'.length);
      if (!/^net\.[a-zA-Z0-9_.]+$/.test(key)) throw invalid(`network option ${k}: only net.* sysctls can be set per interface`);
      out[k] = v;
    } else if (k === BRIDGE_NAME_OPTION) {
      out[k] = v;
    } else {
      throw invalid(
        `unknown network option ${JSON.stringify(k)} (known: mtu, mode, sysctl.<net.*>, ${BRIDGE_NAME_OPTION}, com.docker.network.driver.mtu)`,
      );
    }
  }
  return out;
}

function parseSubnet(req: SubnetRequest, net: string): SubnetConfig {
  if (typeof req?.subnet !== 'string') throw invalid(`network "${net}": every subnet entry needs a "subnet"`);
  let subnet: Cidr;
  try {
    subnet = parseCidr(req.subnet, { strict: true });
  } catch (e) {
    throw invalid(`network "${net}": ${(e as Error).message}`);
  }
  const usable = usableRange(subnet);
  if (usable.last - usable.first < 1n) throw invalid(`network "${net}": subnet ${req.subnet} is too small (needs room for a gateway and a container)`);
  const cfg: SubnetConfig = { subnet: formatCidr(subnet), gateway: '' };

  let gwValue: bigint;
  if (req.gateway !== undefined && req.gateway !== '') {
    let gw;
    try {
      gw = parseIp(req.gateway);
    } catch {
      throw invalid(`network "${net}": gateway ${JSON.stringify(req.gateway)} is not an IP address`);
    }
    if (!cidrContains(subnet, gw)) throw invalid(`network "${net}": gateway ${req.gateway} is not inside subnet ${cfg.subnet}`);
    if (gw.value < usable.first || gw.value > usable.last) {
      throw invalid(`network "${net}": gateway ${req.gateway} is the network or broadcast address of ${cfg.subnet}`);
    }
    gwValue = gw.value;
  } else {
    gwValue = usable.first;
  }
  cfg.gateway = formatIp({ family: subnet.family, value: gwValue });

  if (req.ipRange !== undefined && req.ipRange !== '') {
    let range: Cidr;
    try {
      range = parseCidr(req.ipRange, { strict: true });
    } catch (e) {
      throw invalid(`network "${net}": ip-range: ${(e as Error).message}`);
    }
    if (!cidrContainsCidr(subnet, range)) throw invalid(`network "${net}": ip-range ${req.ipRange} is not inside subnet ${cfg.subnet}`);
    cfg.ipRange = formatCidr(range);
    if (rangeCapacity(cfg) < 1n) throw invalid(`network "${net}": ip-range ${req.ipRange} leaves no address for containers`);
  }
  return cfg;
}

/** First and last address host-local may hand out: the ip-range (or subnet) clipped to the usable part of the subnet. */
export function allocationBounds(cfg: SubnetConfig): { first: bigint; last: bigint; family: 4 | 6 } {
  const subnet = parseCidr(cfg.subnet);
  const usable = usableRange(subnet);
  if (!cfg.ipRange) return { ...usable, family: subnet.family };
  const range = parseCidr(cfg.ipRange);
  const first = range.network > usable.first ? range.network : usable.first;
  const rangeLast = cidrLast(range);
  const last = rangeLast < usable.last ? rangeLast : usable.last;
  return { first, last, family: subnet.family };
}

/** How many container addresses a subnet config offers (gateway excluded). */
export function rangeCapacity(cfg: SubnetConfig): bigint {
  const { first, last } = allocationBounds(cfg);
  if (last < first) return 0n;
  const gw = parseIp(cfg.gateway).value;
  const n = last - first + 1n;
  return gw >= first && gw <= last ? n - 1n : n;
}

/** Refuses a subnet that overlaps one of another network, naming that network. */
export function checkOverlaps(name: string, subnets: readonly SubnetConfig[], existing: readonly Network[]): void {
  for (const s of subnets) {
    const mine = parseCidr(s.subnet);
    for (const other of existing) {
      for (const o of other.subnets) {
        if (cidrsOverlap(mine, parseCidr(o.subnet))) {
          throw new NetworkingError(
            'conflict',
            `subnet ${s.subnet} of network "${name}" overlaps subnet ${o.subnet} of network "${other.name}" (${other.id.slice(0, 12)})`,
          );
        }
      }
    }
  }
}

export interface NormaliseContext {
  id: string;
  created: string;
  existing: readonly Network[];
  /** Picks an IPv4 subnet when the request gives none (pool minus networks and host routes). */
  allocateSubnet: () => Promise<string>;
  isDefault?: boolean;
}

/** Checks a create request completely and turns it into the Network to store. */
export async function normaliseCreateRequest(req: CreateNetworkRequest, ctx: NormaliseContext): Promise<Network> {
  if (typeof req !== 'object' || req === null) throw invalid('network create request is empty');
  validateNetworkName(req.name);
  if (ctx.existing.some((n) => n.name === req.name)) {
    throw new NetworkingError('already-exists', `network "${req.name}" already exists`);
  }
  const driver = req.driver ?? 'bridge';
  if (!DRIVERS.includes(driver)) throw invalid(`network "${req.name}": unknown driver ${JSON.stringify(driver)} (known: ${DRIVERS.join(', ')})`);
  const options = validateOptions(driver, req.options ?? {});
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.labels ?? {})) {
    if (typeof v !== 'string' || k === '') throw invalid(`network "${req.name}": label ${JSON.stringify(k)} must have a string value`);
    labels[k] = v;
  }

  const net: Network = {
    id: ctx.id,
    name: req.name,
    driver,
    subnets: [],
    internal: req.internal === true,
    labels,
    options,
    isDefault: ctx.isDefault === true,
    dns: driver === 'bridge' && ctx.isDefault !== true,
    created: ctx.created,
  };

  if (driver === 'bridge') {
    if (req.parent) throw invalid(`network "${req.name}": a parent interface is only for macvlan and ipvlan`);
    const bridge = req.bridge ?? options[BRIDGE_NAME_OPTION] ?? `br-${ctx.id.slice(0, 12)}`;
    try {
      validateIfname(bridge);
    } catch (e) {
      throw invalid(`network "${req.name}": bridge name: ${(e as Error).message}`);
    }
    const clash = ctx.existing.find((n) => n.bridge === bridge);
    if (clash) throw new NetworkingError('conflict', `bridge ${bridge} is already used by network "${clash.name}"`);
    net.bridge = bridge;
  } else {
    if (!req.parent) throw invalid(`network "${req.name}": a ${driver} network needs a parent interface`);
    try {
      validateIfname(req.parent);
    } catch (e) {
      throw invalid(`network "${req.name}": parent: ${(e as Error).message}`);
    }
    net.parent = req.parent;
  }

  const requested = req.subnets ?? [];
  if (requested.length === 0) {
    net.subnets = [parseSubnet({ subnet: await ctx.allocateSubnet() }, req.name)];
  } else {
    net.subnets = requested.map((s) => parseSubnet(s, req.name));
    const families = net.subnets.map((s) => parseCidr(s.subnet).family);
    if (new Set(families).size !== families.length) throw invalid(`network "${req.name}": at most one IPv4 and one IPv6 subnet`);
  }
  checkOverlaps(req.name, net.subnets, ctx.existing);
  return net;
}
