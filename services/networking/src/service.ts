import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import {
  resolveNetnsPath,
  validateContainerId,
  validateIfname,
  type CniResult,
  type NetworkConfigList,
  type RuntimeConf,
} from '@berth/cni';
import { attachmentFromResult, explainCniFailure, nextIfname, normaliseMac, staticAddress } from './attach-helpers.js';
import { buildConflist, conflistHasDefaultRoute } from './conflist.js';
import { DnsRegistry } from './dns/registry.js';
import type { DnsUpstream, NameAnswer } from './dns/server.js';
import { hostUpstreams } from './dns/upstreams.js';
import { NetworkingError, asInvalid, invalid } from './errors.js';
import type { CniExecutor } from './executor.js';
import { parseCidr, parseIp } from './ip/cidr.js';
import { readHostRoutes } from './ip/host-routes.js';
import { DEFAULT_SUBNET_POOLS, allocateSubnet, validatePools, type SubnetPool } from './ip/subnet-pool.js';
import { Mutex } from './mutex.js';
import { buildContainerFiles, type ContainerFiles, type ContainerFilesOptions } from './names/container-files.js';
import { validateHostname } from './names/hosts.js';
import {
  DEFAULT_BRIDGE,
  DEFAULT_NETWORK_NAME,
  HOST_NETWORK,
  NONE_NETWORK,
  type Attachment,
  type CreateNetworkRequest,
  type Network,
} from './network-model.js';
import { normaliseCreateRequest, rangeCapacity } from './network-validation.js';
import { allocatePorts, type PortInUse } from './port-allocation.js';
import { parsePortSpec, publishAllRequests, toPortmapEntry, type PortMapping, type PortRequest } from './ports.js';
import { NetworkingStore, type StoredAttachment, type StoredNetwork } from './store.js';

export interface Logger {
  warn(obj: object, msg: string): void;
}

export type NetworkingEvent =
  | { type: 'network.created'; network: Network }
  | { type: 'network.removed'; network: Network }
  | { type: 'container.attached'; attachment: Attachment }
  | { type: 'container.detached'; attachment: Attachment };

export interface NetworkingServiceOptions {
  /** The service's state directory: networking.db (and the default ipamDir, ipam/). */
  stateDir: string;
  /** This node's id; attachments are recorded per node. */
  node: string;
  /** Runs CNI and netns operations (the node agent in production). */
  executor: CniExecutor;
  /**
   * host-local's dataDir, written into every conflist: a path as the node
   * agent (which runs the plugins) sees it; this process never opens it.
   * Default <stateDir>/ipam.
   */
  ipamDir?: string;
  /** The default network `bridge` (device `berth0` unless set), created on first use. Without a subnet one is taken from the pool. */
  defaultNetwork?: { bridge?: string; subnet?: string; gateway?: string; ipRange?: string };
  /** Where automatic subnets come from. Default 10.89.0.0/16 in /24s. */
  subnetPools?: SubnetPool[];
  /** Host address for -p without one. Default 127.0.0.1. */
  defaultHostIp?: string;
  /** Prefixes the host routes; default reads `ip -j route`. */
  hostRoutes?: (ownDevice?: string) => Promise<string[]>;
  /** The node's resolv.conf (resolvers for the default network and host mode, DNS upstreams). Default /etc/resolv.conf. */
  hostResolvConfPath?: string;
  /** The node's hosts file (copied for host-mode containers). Default /etc/hosts. */
  hostHostsPath?: string;
  /** Embedded DNS on user networks. Upstreams default to the host's resolv.conf nameservers. */
  dns?: { enabled?: boolean; port?: number; upstreams?: DnsUpstream[] };
  onEvent?: (event: NetworkingEvent) => void;
  logger?: Logger;
  now?: () => Date;
}

export interface AttachRequest {
  containerId: string;
  /** Resolvable by DNS on user networks. */
  containerName?: string;
  /** Network name or id; default the default network. `none` and `host` select those modes. */
  network?: string;
  /**
   * The container's network namespace: the path the agent's CreateNetns
   * returned (or a name under /run/netns). Required for CNI networks,
   * optional for `none`, ignored in host mode.
   */
  netns?: string;
  /** More DNS names on this network. */
  aliases?: string[];
  /** -p specs ("8080:80", "127.0.0.1::53/udp", ...) or parsed requests. */
  ports?: (string | PortRequest)[];
  /** -P: publish these exposed ports ("80/tcp") on free host ports. */
  publishAll?: boolean;
  exposedPorts?: string[];
  /** Static addresses (the `ips` capability); must lie in the network's ip-range if it has one. */
  ipv4Address?: string;
  ipv6Address?: string;
  mac?: string;
  /** Interface name in the container; default the lowest free ethN (eth0, eth1, ...). */
  ifname?: string;
}

/** What the agent runs for an attach: nothing for none/host, else CNI ADD of `conflist` with `runtime`. */
export type AttachPlan =
  | {
      mode: 'cni';
      containerId: string;
      network: { id: string; name: string };
      conflist: NetworkConfigList;
      runtime: RuntimeConf;
      ports: PortMapping[];
    }
  | { mode: 'none' | 'host'; containerId: string; network: { id: string; name: string } };

/** What the agent runs for a detach: CNI DEL of `conflist` with `runtime` (none for none/host). */
export interface DetachPlan {
  containerId: string;
  network: { id: string; name: string };
  cni: { conflist: NetworkConfigList; runtime: RuntimeConf } | undefined;
}

export interface NetworkInspect extends Network {
  conflist: NetworkConfigList | undefined;
  containers: Attachment[];
}

/** Something reconcile could not release; the next reconcile tries again. */
export interface ReconcileFailure {
  containerId: string;
  network?: string;
  resource: 'attachment' | 'netns';
  error: string;
}

export interface ReconcileReport {
  /** Attachments released (CNI DEL ran, record and DNS names gone), with their ADD results. */
  released: { attachment: Attachment; result: CniResult | undefined }[];
  /** Containers whose network namespace was removed. */
  netnsRemoved: string[];
  failures: ReconcileFailure[];
}

function publicAttachment(a: StoredAttachment): Attachment {
  const { conflist: _c, capabilityArgs: _a, cniResult: _r, ...rest } = a;
  return rest;
}

function publicNetwork(n: StoredNetwork): Network {
  const { conflist: _c, ...rest } = n;
  return rest;
}

/**
 * The networking service's core: network definitions, attachment planning and
 * records, port publishing, container name files and embedded DNS, and leak
 * cleanup. Plain TypeScript; the gRPC layer wraps it.
 */
export class NetworkingService {
  private readonly store: NetworkingStore;
  private readonly opts: NetworkingServiceOptions;
  private readonly ipamDir: string;
  private readonly lock = new Mutex();
  private readonly dns: DnsRegistry;
  private readonly dnsEnabled: boolean;

  private constructor(store: NetworkingStore, opts: NetworkingServiceOptions) {
    this.store = store;
    this.opts = opts;
    this.ipamDir = opts.ipamDir ?? join(opts.stateDir, 'ipam');
    this.dnsEnabled = opts.dns?.enabled !== false;
    this.dns = new DnsRegistry({
      port: opts.dns?.port ?? 53,
      lookup: (networkId, name) => this.lookupName(networkId, name),
      upstreams: () => opts.dns?.upstreams ?? hostUpstreams(opts.hostResolvConfPath ?? '/etc/resolv.conf'),
      onError: (err, net) => opts.logger?.warn({ err, network: net.name }, 'embedded DNS error'),
    });
  }

  /** Opens (or creates) the store, adds the `none` and `host` pseudo-networks, and restarts DNS for networks in use. */
  static async open(opts: NetworkingServiceOptions): Promise<NetworkingService> {
    if (!opts.node) throw invalid('networking service needs a node id');
    validatePools(opts.subnetPools ?? DEFAULT_SUBNET_POOLS);
    if (opts.defaultHostIp !== undefined && opts.defaultHostIp !== '') parseIp(opts.defaultHostIp);
    const store = NetworkingStore.open(join(opts.stateDir, 'networking.db'));
    const svc = new NetworkingService(store, opts);
    svc.ensurePseudoNetworks();
    await svc.restartDns();
    return svc;
  }

  /** The node this service keeps attachments for. */
  get node(): string {
    return this.opts.node;
  }

  async close(): Promise<void> {
    await this.dns.stopAll();
    this.store.close();
  }

  private now(): string {
    return (this.opts.now?.() ?? new Date()).toISOString();
  }

  private emit(event: NetworkingEvent): void {
    try {
      this.opts.onEvent?.(event);
    } catch (err) {
      this.opts.logger?.warn({ err, event: event.type }, 'networking event handler failed');
    }
  }

  private ensurePseudoNetworks(): void {
    this.store.transaction(() => {
      for (const [name, driver] of [
        [NONE_NETWORK, 'null'],
        [HOST_NETWORK, 'host'],
      ] as const) {
        if (this.store.findNetwork(name)) continue;
        this.store.insertNetwork(
          { id: randomBytes(32).toString('hex'), name, driver, subnets: [], internal: false, labels: {}, options: {}, isDefault: false, dns: false, created: this.now() },
          undefined,
        );
      }
    });
  }

  private async restartDns(): Promise<void> {
    if (!this.dnsEnabled) return;
    for (const net of this.store.listNetworks()) {
      if (!net.dns || this.store.listAttachments({ networkId: net.id, node: this.opts.node }).length === 0) continue;
      await this.dns.ensure(net).catch((err: unknown) => this.opts.logger?.warn({ err, network: net.name }, 'embedded DNS not started'));
    }
  }

  // ---- networks ----

  private async takenPrefixes(ownDevice?: string): Promise<string[]> {
    const routes = await (this.opts.hostRoutes ?? readHostRoutes)(ownDevice);
    return [...routes, ...this.store.listNetworks().flatMap((n) => n.subnets.map((s) => s.subnet))];
  }

  private async insertNetwork(req: CreateNetworkRequest, isDefault: boolean): Promise<Network> {
    const existing = this.store.listNetworks();
    const net = await normaliseCreateRequest(req, {
      id: randomBytes(32).toString('hex'),
      created: this.now(),
      existing,
      isDefault,
      allocateSubnet: async () => {
        try {
          return allocateSubnet(this.opts.subnetPools ?? DEFAULT_SUBNET_POOLS, await this.takenPrefixes(req.bridge));
        } catch (e) {
          throw new NetworkingError('exhausted', `network "${req.name}": ${(e as Error).message}`);
        }
      },
    });
    this.store.insertNetwork(net, buildConflist(net, { ipamDir: this.ipamDir }));
    this.emit({ type: 'network.created', network: net });
    return net;
  }

  /** Creates a user network; see CreateNetworkRequest. */
  createNetwork(req: CreateNetworkRequest): Promise<Network> {
    return this.lock.run(() => {
      if (req?.name === DEFAULT_NETWORK_NAME) throw invalid(`network name "${DEFAULT_NETWORK_NAME}" is reserved for the default network`);
      return this.insertNetwork(req, false);
    });
  }

  /** The default network, created now if it does not exist yet. */
  ensureDefaultNetwork(): Promise<Network> {
    return this.lock.run(() => this.ensureDefaultLocked());
  }

  private async ensureDefaultLocked(): Promise<StoredNetwork> {
    const found = this.store.findNetwork(DEFAULT_NETWORK_NAME);
    if (found && found !== 'ambiguous') return found;
    const d = this.opts.defaultNetwork ?? {};
    const subnets = d.subnet ? [{ subnet: d.subnet, gateway: d.gateway, ipRange: d.ipRange }] : [];
    await this.insertNetwork({ name: DEFAULT_NETWORK_NAME, driver: 'bridge', bridge: d.bridge ?? DEFAULT_BRIDGE, subnets }, true);
    return this.store.findNetwork(DEFAULT_NETWORK_NAME) as StoredNetwork;
  }

  private resolve(ref: string): StoredNetwork {
    const n = this.store.findNetwork(ref);
    if (n === 'ambiguous') throw invalid(`network id prefix "${ref}" matches more than one network`);
    if (!n) throw new NetworkingError('not-found', `network "${ref}" not found`);
    return n;
  }

  listNetworks(): Network[] {
    return this.store.listNetworks().map(publicNetwork);
  }

  getNetwork(ref: string): Network {
    return publicNetwork(this.resolve(ref));
  }

  inspectNetwork(ref: string): NetworkInspect {
    const n = this.resolve(ref);
    return {
      ...publicNetwork(n),
      conflist: n.conflist,
      containers: this.store.listAttachments({ networkId: n.id }).map(publicAttachment),
    };
  }

  /**
   * Removes a user network, then (through the executor, i.e. the agent) its
   * bridge and host-local state; refused while containers are attached (they
   * are named) and for built-in networks. When the node resources cannot be
   * removed the network stays, so the removal can be retried.
   */
  removeNetwork(ref: string): Promise<void> {
    return this.lock.run(async () => {
      const n = this.resolve(ref);
      if (n.driver === 'null' || n.driver === 'host' || n.isDefault) {
        throw new NetworkingError('failed-precondition', `network "${n.name}" is built in and cannot be removed`);
      }
      const users = this.store.listAttachments({ networkId: n.id });
      if (users.length > 0) {
        const names = users.map((a) => (a.containerName ? `${a.containerName} (${a.containerId.slice(0, 12)})` : a.containerId.slice(0, 12)));
        throw new NetworkingError('in-use', `network "${n.name}" is in use by ${users.length} container(s): ${names.join(', ')}`);
      }
      await this.dns.stop(n.id);
      if (n.conflist) await this.opts.executor.removeNetworkResources(n.conflist);
      this.store.deleteNetwork(n.id);
      this.emit({ type: 'network.removed', network: publicNetwork(n) });
    });
  }

  // ---- attachments ----

  private portsInUse(): PortInUse[] {
    return this.store
      .listAttachments({ node: this.opts.node })
      .flatMap((a) => a.ports.map((p) => ({ ...p, containerId: a.containerId, network: a.networkName })));
  }

  private portRequests(req: AttachRequest): PortRequest[] {
    const out: PortRequest[] = [];
    for (const p of req.ports ?? []) {
      try {
        out.push(...(typeof p === 'string' ? parsePortSpec(p) : [p]));
      } catch (e) {
        throw invalid((e as Error).message);
      }
    }
    if (req.publishAll) {
      try {
        out.push(...publishAllRequests(req.exposedPorts ?? []));
      } catch (e) {
        throw invalid(`-P: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /**
   * Decides everything about an attach before anything is set up: network,
   * interface name, static addresses, host ports (taken ones are refused,
   * free ones chosen), address capacity. Records the attachment as planned
   * (so a crash mid-ADD is still cleaned up) and returns what to run.
   */
  planAttach(req: AttachRequest): Promise<AttachPlan> {
    return this.lock.run(async () => {
      asInvalid(() => validateContainerId(req.containerId));
      if (req.containerName !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(req.containerName)) {
        throw invalid(`invalid container name ${JSON.stringify(req.containerName)}: letters, digits, '_', '.', '-', starting with a letter or digit`);
      }
      const net = req.network === undefined || req.network === DEFAULT_NETWORK_NAME ? await this.ensureDefaultLocked() : this.resolve(req.network);
      const ref = { id: net.id, name: net.name };
      const mine = this.store.listAttachments({ containerId: req.containerId });
      if (mine.some((a) => a.networkId === net.id)) {
        throw new NetworkingError('already-exists', `container ${req.containerId} is already attached to network "${net.name}"`);
      }
      const pseudo = mine.find((a) => a.networkName === NONE_NETWORK || a.networkName === HOST_NETWORK);
      const ports = this.portRequests(req);
      const aliases = (req.aliases ?? []).map((a) => {
        validateHostname(a);
        return a;
      });
      const base = {
        containerId: req.containerId,
        containerName: req.containerName,
        networkId: net.id,
        networkName: net.name,
        node: this.opts.node,
        gateways: [] as string[],
        mac: undefined,
        aliases,
        created: this.now(),
      };

      if (net.driver === 'null' || net.driver === 'host') {
        if (mine.length > 0) {
          throw new NetworkingError(
            'failed-precondition',
            `container ${req.containerId} is already on network(s) ${mine.map((a) => `"${a.networkName}"`).join(', ')}; "${net.name}" mode must be its only network`,
          );
        }
        if (ports.length > 0) throw invalid(`ports cannot be published on network "${net.name}"`);
        const netns = net.driver === 'host' ? '' : asInvalid(() => resolveNetnsPath(req.netns ?? ''));
        this.store.insertAttachment({
          ...base,
          state: 'attached',
          netns,
          ifname: '',
          ips: [],
          ports: [],
          requested: { ips: [], mac: undefined },
          conflist: undefined,
          capabilityArgs: {},
        });
        this.emit({ type: 'container.attached', attachment: publicAttachment(this.store.getAttachment(req.containerId, net.id)!) });
        return { mode: net.driver === 'host' ? 'host' : 'none', containerId: req.containerId, network: ref };
      }
      if (pseudo) {
        throw new NetworkingError(
          'failed-precondition',
          `container ${req.containerId} uses network "${pseudo.networkName}" and cannot join network "${net.name}"`,
        );
      }

      const ifname = req.ifname ?? nextIfname(mine);
      try {
        validateIfname(ifname);
      } catch (e) {
        throw invalid((e as Error).message);
      }
      if (mine.some((a) => a.ifname === ifname)) throw new NetworkingError('conflict', `container ${req.containerId} already has an interface ${ifname}`);

      const onNetwork = this.store.listAttachments({ networkId: net.id });
      const staticIps = [req.ipv4Address, req.ipv6Address]
        .filter((x): x is string => typeof x === 'string' && x !== '')
        .map((ip) => staticAddress(net, ip, onNetwork));
      const mac = req.mac ? normaliseMac(req.mac) : undefined;

      const v4 = net.subnets.find((s) => parseCidr(s.subnet).family === 4);
      if (v4 && onNetwork.length >= rangeCapacity(v4)) {
        throw new NetworkingError(
          'exhausted',
          `network "${net.name}" has no free IP addresses left: all ${rangeCapacity(v4)} addresses of ${v4.ipRange ?? v4.subnet} are in use`,
        );
      }

      if (ports.length > 0 && net.internal) throw invalid(`ports cannot be published on internal network "${net.name}"`);
      const mappings = await allocatePorts(ports, { defaultHostIp: this.opts.defaultHostIp ?? '127.0.0.1', inUse: this.portsInUse() });

      const defaultRoute = !mine.some((a) => a.conflist && conflistHasDefaultRoute(a.conflist));
      const conflist = defaultRoute && net.conflist ? net.conflist : buildConflist(net, { ipamDir: this.ipamDir, defaultRoute });
      const capabilityArgs: Record<string, unknown> = {};
      if (mappings.length > 0) capabilityArgs.portMappings = mappings.map(toPortmapEntry);
      if (staticIps.length > 0) capabilityArgs.ips = staticIps;
      if (mac) capabilityArgs.mac = mac;
      const netns = asInvalid(() => resolveNetnsPath(req.netns ?? ''));
      if (netns === '') {
        throw invalid(`container ${req.containerId}: attaching to network "${net.name}" needs its network namespace (the path the agent's CreateNetns returned)`);
      }

      this.store.insertAttachment({
        ...base,
        state: 'planned',
        netns,
        ifname,
        ips: [],
        ports: mappings,
        requested: { ips: staticIps.map((s) => s.replace(/\/\d+$/, '')), mac },
        conflist,
        capabilityArgs,
      });
      return {
        mode: 'cni',
        containerId: req.containerId,
        network: ref,
        conflist,
        runtime: { containerId: req.containerId, netns, ifname, capabilityArgs },
        ports: mappings,
      };
    });
  }

  private attachmentOf(containerId: string, networkRef: string): { net: StoredNetwork; a: StoredAttachment } {
    const net = this.resolve(networkRef);
    const a = this.store.getAttachment(containerId, net.id);
    if (!a) throw new NetworkingError('not-found', `container ${containerId} is not attached to network "${net.name}"`);
    return { net, a };
  }

  /** Records the CNI ADD result of a planned attach and makes the container's names resolvable. */
  recordAttach(containerId: string, networkRef: string, result: CniResult): Promise<Attachment> {
    return this.lock.run(async () => {
      const { net, a } = this.attachmentOf(containerId, networkRef);
      const got = attachmentFromResult(result, a.ifname);
      if (got.ips.length === 0) throw invalid(`CNI result for container ${containerId} on network "${net.name}" has no address for ${a.ifname}`);
      this.store.markAttached(containerId, net.id, { ...got, result });
      if (net.dns && this.dnsEnabled) {
        await this.dns.ensure(net).catch((err: unknown) => this.opts.logger?.warn({ err, network: net.name }, 'embedded DNS not started'));
      }
      const rec = publicAttachment(this.store.getAttachment(containerId, net.id)!);
      this.emit({ type: 'container.attached', attachment: rec });
      return rec;
    });
  }

  /**
   * Drops a planned attach whose ADD failed (cniAdd already rolled back) and
   * returns the failure explained (address exhaustion, taken static IP).
   */
  abortAttach(containerId: string, networkRef: string, cause: unknown): Promise<Error> {
    return this.lock.run(() => {
      const { net, a } = this.attachmentOf(containerId, networkRef);
      if (a.state === 'planned') this.store.deleteAttachment(containerId, net.id);
      return explainCniFailure(net, cause);
    });
  }

  /** planAttach + CNI ADD through the executor + recordAttach. */
  async attach(req: AttachRequest): Promise<Attachment> {
    const plan = await this.planAttach(req);
    if (plan.mode !== 'cni') return publicAttachment(this.attachmentOf(plan.containerId, plan.network.id).a);
    let result: CniResult;
    try {
      result = await this.opts.executor.add(plan.conflist, plan.runtime);
    } catch (e) {
      throw await this.abortAttach(plan.containerId, plan.network.id, e);
    }
    return this.recordAttach(plan.containerId, plan.network.id, result);
  }

  /** The DEL each of a container's attachments (or one of them) needs. */
  planDetach(containerId: string, networkRef?: string): DetachPlan[] {
    const targets = networkRef === undefined ? this.store.listAttachments({ containerId }) : [this.attachmentOf(containerId, networkRef).a];
    return targets.map((a) => ({
      containerId,
      network: { id: a.networkId, name: a.networkName },
      cni: a.conflist
        ? { conflist: a.conflist, runtime: { containerId, netns: a.netns, ifname: a.ifname, capabilityArgs: a.capabilityArgs } }
        : undefined,
    }));
  }

  /** Forgets an attachment after its DEL ran; its names stop resolving. */
  recordDetach(containerId: string, networkRef: string): Promise<Attachment> {
    return this.lock.run(() => {
      const { net, a } = this.attachmentOf(containerId, networkRef);
      this.store.deleteAttachment(containerId, net.id);
      const rec = publicAttachment(a);
      this.emit({ type: 'container.detached', attachment: rec });
      return rec;
    });
  }

  /**
   * Detaches a container from one network, or from all (container removal):
   * CNI DEL through the executor, then the record goes. A failed DEL keeps
   * its record (so it can be retried) and is thrown after the others ran.
   */
  async detach(containerId: string, networkRef?: string): Promise<Attachment[]> {
    const done: Attachment[] = [];
    const errors: Error[] = [];
    for (const plan of this.planDetach(containerId, networkRef)) {
      try {
        if (plan.cni) await this.opts.executor.del(plan.cni.conflist, plan.cni.runtime);
        done.push(await this.recordDetach(containerId, plan.network.id));
      } catch (e) {
        errors.push(new Error(`detaching container ${containerId} from network "${plan.network.name}" failed: ${(e as Error).message}`, { cause: e }));
      }
    }
    if (errors.length === 1) throw errors[0]!;
    if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
    return done;
  }

  /**
   * CNI CHECK of an attachment. portMappings are left out: portmap 1.1.x
   * checks IPv6 rules of IPv4-only containers and always fails
   * (containernetworking/plugins#819).
   */
  async check(containerId: string, networkRef: string): Promise<void> {
    const { net, a } = this.attachmentOf(containerId, networkRef);
    if (!a.conflist) return;
    if (a.state !== 'attached') throw new NetworkingError('failed-precondition', `container ${containerId} is not attached to "${net.name}" yet`);
    const { portMappings: _skip, ...capabilityArgs } = a.capabilityArgs;
    await this.opts.executor.check(a.conflist, { containerId, netns: a.netns, ifname: a.ifname, capabilityArgs });
  }

  listAttachments(filter: { containerId?: string; network?: string; node?: string } = {}): Attachment[] {
    const networkId = filter.network === undefined ? undefined : this.resolve(filter.network).id;
    const f: { containerId?: string; networkId?: string; node?: string } = {};
    if (filter.containerId !== undefined) f.containerId = filter.containerId;
    if (networkId !== undefined) f.networkId = networkId;
    if (filter.node !== undefined) f.node = filter.node;
    return this.store.listAttachments(f).map(publicAttachment);
  }

  // ---- names ----

  /** Attached containers on a network answering to `name` (lowercase): container name, alias, or an id prefix of 12+ characters. */
  private answering(networkId: string, name: string): StoredAttachment[] {
    return this.store.listAttachments({ networkId }).filter((a) => {
      if (a.state !== 'attached') return false;
      const names = [a.containerName, ...a.aliases].filter((x): x is string => !!x).map((x) => x.toLowerCase());
      return names.includes(name) || (name.length >= 12 && a.containerId.startsWith(name));
    });
  }

  private lookupName(networkId: string, name: string): NameAnswer | undefined {
    const found = this.answering(networkId, name);
    if (found.length === 0) return undefined;
    const v4: string[] = [];
    const v6: string[] = [];
    for (const ip of found.flatMap((a) => a.ips.map((cidr) => cidr.replace(/\/\d+$/, '')))) {
      (parseIp(ip).family === 4 ? v4 : v6).push(ip);
    }
    return { v4, v6 };
  }

  /** The containers a name resolves to on a network, as the embedded DNS server answers it; empty when none. */
  resolveName(networkRef: string, name: string): { containerId: string; addresses: string[] }[] {
    const net = this.resolve(networkRef);
    const wanted = name.toLowerCase().replace(/\.$/, '');
    if (wanted === '') throw invalid('name to resolve is empty');
    return this.answering(net.id, wanted).map((a) => ({
      containerId: a.containerId,
      addresses: a.ips.map((cidr) => cidr.replace(/\/\d+$/, '')),
    }));
  }

  /** The CNI ADD result recorded for an attachment (undefined for none/host mode and planned attachments). */
  cniResultOf(containerId: string, networkRef: string): CniResult | undefined {
    return this.attachmentOf(containerId, networkRef).a.cniResult;
  }

  /** /etc/hosts, /etc/hostname and /etc/resolv.conf for a container, from its attachments. */
  containerFiles(containerId: string, opts: ContainerFilesOptions = {}, mode: { hostNetwork?: boolean } = {}): ContainerFiles {
    // No attachments is `--network none`: loopback-only hosts, the host's resolvers.
    const attachments = this.store.listAttachments({ containerId });
    const dnsNet = this.dnsEnabled
      ? attachments.map((a) => this.store.findNetwork(a.networkId)).find((n): n is StoredNetwork => !!n && n !== 'ambiguous' && n.dns)
      : undefined;
    const hostMode = mode.hostNetwork === true || attachments[0]?.networkName === HOST_NETWORK;
    return buildContainerFiles({
      containerId,
      hostNetwork: hostMode,
      attachments: attachments.map(publicAttachment),
      embeddedDns: dnsNet?.subnets[0]?.gateway,
      host: {
        resolvConf: readFileSync(this.opts.hostResolvConfPath ?? '/etc/resolv.conf', 'utf8'),
        hosts: hostMode ? readFileSync(this.opts.hostHostsPath ?? '/etc/hosts', 'utf8') : '',
        hostname: osHostname(),
      },
      options: opts,
    });
  }

  // ---- leak cleanup ----

  /**
   * After a crash or kill -9 of any berth process: releases everything this
   * node holds for containers not in `liveContainerIds` — CNI DEL of their
   * attachments (addresses, veths, port mappings; records and DNS names go
   * with them) and removal of the berth network namespaces the executor
   * lists for them, attached or not. The caller passes every container that
   * exists on the node, including ones being created right now. The netns
   * list is read first, so an unreachable agent fails the call before
   * anything is released.
   */
  async reconcile(liveContainerIds: Iterable<string>): Promise<ReconcileReport> {
    const live = new Set(liveContainerIds);
    const namespaces = await this.opts.executor.listNetns();
    const report: ReconcileReport = { released: [], netnsRemoved: [], failures: [] };
    // A container whose DEL failed keeps its netns: the retry DELs inside it.
    const keepNetns = new Set<string>();
    for (const a of this.store.listAttachments({ node: this.opts.node })) {
      if (live.has(a.containerId)) continue;
      try {
        if (a.conflist) {
          await this.opts.executor.del(a.conflist, { containerId: a.containerId, netns: a.netns, ifname: a.ifname, capabilityArgs: a.capabilityArgs });
        }
        const attachment = await this.recordDetach(a.containerId, a.networkId);
        report.released.push({ attachment, result: a.cniResult });
      } catch (e) {
        keepNetns.add(a.containerId);
        report.failures.push({ containerId: a.containerId, network: a.networkName, resource: 'attachment', error: (e as Error).message });
      }
    }
    for (const ns of namespaces) {
      if (live.has(ns.containerId) || keepNetns.has(ns.containerId)) continue;
      try {
        if (await this.opts.executor.removeNetns(ns.containerId)) report.netnsRemoved.push(ns.containerId);
      } catch (e) {
        report.failures.push({ containerId: ns.containerId, resource: 'netns', error: (e as Error).message });
      }
    }
    return report;
  }
}
