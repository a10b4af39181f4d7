// The Containers API's operations: create (resolve image, prepare snapshot,
// build the runtime spec), get, list, update, remove, rename and network
// connect/disconnect, each checked and scoped to a namespace.
import { tasks } from '@berth/api';
import {
  alreadyExists,
  errorMessage,
  failedPrecondition,
  grpcCode,
  GrpcStatus,
  imageNotFound,
  invalidArgument,
  isNotFound,
  notFound,
  unavailable,
  withContext,
} from '../errors.js';
import { buildRuntimeSpec, checkUserSpec, networkMode, userOf } from '../container-spec.js';
import { matchesContainerFilters, parseContainerFilters } from '../filters.js';
import { checkContainerId, checkContainerName, generateContainerId } from '../ids.js';
import { generateName } from '../names.js';
import type { ContainerRecord } from '../records.js';
import { SIGKILL } from '../signals.js';
import { displayState, stateWord } from '../state.js';
import { validateContainerSpec, validateNetworks, validateRestartPolicyUpdate } from '../validate.js';
import { SNAPSHOT_CONTAINER_LABEL, SNAPSHOT_OWNER_LABEL, type ResolvedImage } from '../ports.js';
import { restartPolicyOf, type Runtime } from './runtime.js';
import { generateVolumeName } from '../volumes/api.js';

/** The networks a spec is on, with the implicit default bridge spelled out. */
export function endpointsOf(spec: tasks.ContainerSpec): tasks.NetworkEndpoint[] {
  return spec.networks.length > 0 ? spec.networks : [{ network: 'bridge', aliases: [], ipAddress: '' }];
}

export class ContainersApi {
  constructor(private readonly rt: Runtime) {}

  /** Shown state of a record. */
  stateOf(record: ContainerRecord): tasks.ContainerState {
    return displayState(record, this.rt.deps.nodes.isAvailable(record.nodeId));
  }

  private freeName(namespace: string): string {
    for (let attempt = 0; attempt < 20; attempt++) {
      const name = generateName(attempt);
      if (this.rt.store.nameHolder(namespace, name) === undefined) return name;
    }
    throw unavailable('cannot find a free generated container name; give one');
  }

  private async resolveImage(namespace: string, spec: tasks.ContainerSpec): Promise<ResolvedImage> {
    let image: ResolvedImage;
    try {
      image = await this.rt.deps.images.resolve(namespace, spec.image, spec.platform);
    } catch (err) {
      if (isNotFound(err)) throw imageNotFound(`no such image: ${spec.image} (pull it first): ${errorMessage(err)}`, err);
      throw withContext(err, `cannot resolve image ${JSON.stringify(spec.image)}`);
    }
    const wanted = spec.imageTarget?.digest;
    if (wanted && wanted !== image.target.digest) {
      throw failedPrecondition(
        `image ${JSON.stringify(spec.image)} now points at ${image.target.digest}, not at the requested ${wanted}`,
      );
    }
    return image;
  }

  /**
   * Records a container and prepares its writable snapshot. The record is
   * written first in phase "creating", so a crash at any later point is
   * undone by reconcile(); a failure undoes what was made before answering.
   */
  async create(namespace: string, req: tasks.CreateContainerRequest): Promise<ContainerRecord> {
    const { rt } = this;
    const given = req.spec;
    if (!given) throw invalidArgument('spec: missing: say at least which image to run');
    validateContainerSpec(given, rt.settings.host);
    const id = req.id === '' ? generateContainerId() : checkContainerId(req.id);
    const name = req.name === '' ? this.freeName(namespace) : checkContainerName(req.name);
    const holder = rt.store.nameHolder(namespace, name);
    if (holder !== undefined) {
      throw alreadyExists(`the container name "/${name}" is already in use by container "${holder}"; remove or rename that container to reuse the name`);
    }
    const image = await this.resolveImage(namespace, given);
    // The agent looks the names up in the image when it creates the task; a malformed user fails now.
    if (!given.user) checkUserSpec(userOf(given, image.config), 'image User');
    const snapshotKey = given.snapshotKey || id;
    // Anonymous volumes get generated names and are recorded as anonymous, so the container's removal removes them.
    const anonymous = new Set<string>();
    const mounts = given.mounts.map((m) => {
      if (m.type !== 'volume' || m.source !== '') return m;
      const source = generateVolumeName();
      anonymous.add(source);
      return { ...m, source };
    });
    const spec: tasks.ContainerSpec = { ...given, imageTarget: image.target, snapshotKey, mounts };
    // Pure, so bad input fails before anything is made.
    const runtimeSpec = buildRuntimeSpec({
      id,
      name,
      namespace,
      spec,
      imageName: image.name,
      image: image.config,
      cgroupsPath: `${rt.settings.cgroupParent}/${id}`,
      host: {
        hostname: rt.settings.host.hostname,
        swapAccounting: rt.settings.host.swapAccounting,
        nofileHardLimit: rt.settings.host.nofileHardLimit,
      },
      volumePath: (volume) => rt.volumePath(namespace, volume),
      initBinary: rt.settings.initBinary,
    });
    const now = rt.now();
    const record: ContainerRecord = {
      id,
      namespace,
      name,
      phase: 'creating',
      task: 'none',
      imageRef: given.image,
      imageName: image.name,
      imageId: image.configDigest,
      imageTarget: image.target,
      chainId: image.chainId,
      snapshotter: given.snapshotter,
      snapshotKey,
      spec,
      imageConfig: image.config,
      runtimeSpec,
      nodeId: rt.settings.nodeId,
      logPath: rt.logPath(id),
      createdAt: now,
      updatedAt: now,
      pid: 0,
      startedAt: undefined,
      exit: undefined,
      restartCount: 0,
      restartDelayMs: 0,
      restartAt: undefined,
      stoppedByUser: false,
      netnsPath: '',
      networks: [],
      nameFiles: undefined,
      error: '',
      keepLogsOnRemove: false,
    };
    // Under the container's lock from the insert on: a reconcile meanwhile
    // (the agent registering, say) waits, and finds the create finished, not
    // a record in phase "creating" that a crash left behind.
    return rt.locks.run(id, async () => {
      rt.store.insert(record);
      let snapshotPrepared = false;
      try {
        // In the same synchronous stretch as the insert: a volume removal sees this container as a user.
        for (const m of spec.mounts) {
          if (m.type === 'volume') rt.volumes.ensure(namespace, m.source, { anonymous: anonymous.has(m.source) });
        }
        try {
          await rt.deps.snapshots.prepare(namespace, {
            snapshotter: spec.snapshotter,
            key: snapshotKey,
            parent: image.chainId,
            labels: { [SNAPSHOT_CONTAINER_LABEL]: id, [SNAPSHOT_OWNER_LABEL]: rt.settings.nodeId },
          });
        } catch (err) {
          throw withContext(err, `cannot prepare the snapshot ${snapshotKey} for container ${name}`);
        }
        snapshotPrepared = true;
        const created = rt.patch(id, { phase: 'created' });
        rt.publish(namespace, 'containers.created', { id, name, image: image.name, labels: spec.labels });
        rt.logger.info({ container: id, name, image: image.name }, 'container created');
        return created;
      } catch (error) {
        if (snapshotPrepared) {
          await rt.deps.snapshots.remove(namespace, spec.snapshotter, snapshotKey).catch((err: unknown) => {
            rt.logger.warn({ err, snapshot: snapshotKey }, 'removing the snapshot of a failed create failed; reconcile will retry');
          });
        }
        rt.store.discard(id);
        for (const name of anonymous) rt.volumes.remove(namespace, name);
        throw error;
      }
    });
  }

  get(namespace: string, ref: string): ContainerRecord {
    return this.rt.store.resolve(namespace, ref);
  }

  list(namespace: string, filters: readonly string[]): ContainerRecord[] {
    const parsed = parseContainerFilters(filters);
    return this.rt.store.list(namespace).filter((r) => matchesContainerFilters(r, stateWord(this.stateOf(r)), parsed));
  }

  /** Changes labels and/or the restart policy, as the field mask says (empty: both). */
  async update(namespace: string, req: tasks.UpdateContainerRequest): Promise<ContainerRecord> {
    const found = this.rt.store.resolve(namespace, req.id);
    return this.rt.locks.run(found.id, async () => {
      const rec = this.rt.store.get(found.id);
      if (!rec) throw notFound(`no such container: ${req.id}`);
      const paths = req.updateMask && req.updateMask.length > 0 ? req.updateMask : ['labels', 'restart_policy'];
      const spec = { ...rec.spec, labels: { ...rec.spec.labels } };
      for (const path of paths) {
        if (path === 'labels') spec.labels = { ...req.labels };
        else if (path.startsWith('labels.') && path.length > 'labels.'.length) {
          const key = path.slice('labels.'.length);
          if (Object.hasOwn(req.labels, key)) spec.labels[key] = req.labels[key]!;
          else delete spec.labels[key];
        } else if (path === 'restart_policy' || path === 'restartPolicy') {
          validateRestartPolicyUpdate(req.restartPolicy, rec.spec.autoRemove);
          spec.restartPolicy = req.restartPolicy;
        } else {
          throw invalidArgument(`update_mask: unknown path ${JSON.stringify(path)}; known: labels, labels.<key>, restart_policy`);
        }
      }
      // A pending restart the new policy would not make is called off.
      const callOff = rec.phase === 'restarting' && restartPolicyOf(spec).kind === 'no';
      if (callOff) this.rt.cancelRestart(rec.id);
      const updated = this.rt.patch(rec.id, callOff ? { spec, phase: 'stopped', restartAt: undefined } : { spec });
      this.rt.publish(namespace, 'containers.updated', { id: rec.id, name: rec.name, image: rec.imageName, labels: spec.labels });
      return updated;
    });
  }

  /**
   * Removes a container and everything it owns. A running one is refused
   * unless `force`, which kills it (SIGKILL) and waits for its exit first.
   * Returns the record as it was.
   */
  async remove(namespace: string, ref: string, opts: { force: boolean; keepLogs: boolean }): Promise<ContainerRecord> {
    const { rt } = this;
    const found = rt.store.resolve(namespace, ref);
    return rt.locks.run(found.id, async () => {
      let rec = rt.store.get(found.id);
      if (!rec) throw notFound(`no such container: ${ref}`);
      const live = rec.phase === 'running' || rec.phase === 'paused';
      if ((live || rec.phase === 'restarting') && !opts.force) {
        throw failedPrecondition(
          `cannot remove container ${rec.name}: it is ${rec.phase}; stop it first or force the removal`,
        );
      }
      rt.cancelRestart(rec.id);
      if (live) await this.killAndWait(rec);
      rec = rt.patch(rec.id, { phase: 'removing', keepLogsOnRemove: opts.keepLogs });
      await rt.finishRemoval(rec);
      return rec;
    });
  }

  /** SIGKILLs every process of a running container and waits until its exit is recorded. */
  async killAndWait(record: ContainerRecord): Promise<void> {
    const { rt } = this;
    const { id } = record;
    const controller = new AbortController();
    const exited = rt.waiters.next(id, '', controller.signal);
    exited.catch(() => undefined);
    const fresh = rt.patch(id, { stoppedByUser: true });
    if (fresh.phase !== 'running' && fresh.phase !== 'paused') {
      controller.abort();
      return;
    }
    const agent = rt.agentFor(fresh);
    try {
      await agent.killTask(id, '', SIGKILL, true);
      if (fresh.phase === 'paused') await agent.resumeTask(id).catch(() => undefined);
    } catch (err) {
      if (isNotFound(err)) rt.recordLostExit(id, `the agent of node ${fresh.nodeId} has no task for this container: exit status unknown`);
      // Not running any more: it exited meanwhile, and its exit is on its way to us.
      else if (grpcCode(err) !== GrpcStatus.FAILED_PRECONDITION) {
        controller.abort();
        throw withContext(err, `cannot kill container ${fresh.name}`);
      }
    }
    const timer = setTimeout(() => controller.abort(new Error('timeout')), rt.settings.killGraceMs);
    try {
      await exited;
    } catch {
      throw unavailable(
        `container ${fresh.name} did not exit within ${rt.settings.killGraceMs} ms of SIGKILL: the agent of node ${fresh.nodeId} does not report it`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async rename(namespace: string, ref: string, newName: string): Promise<ContainerRecord> {
    const name = checkContainerName(newName);
    const found = this.rt.store.resolve(namespace, ref);
    return this.rt.locks.run(found.id, async () => {
      const rec = this.rt.store.get(found.id);
      if (!rec) throw notFound(`no such container: ${ref}`);
      if (rec.name === name) throw invalidArgument(`container ${rec.id.slice(0, 12)} is already named ${name}`);
      const holder = this.rt.store.nameHolder(namespace, name);
      if (holder !== undefined) {
        throw alreadyExists(`the container name "/${name}" is already in use by container "${holder}"`);
      }
      const runtimeSpec = structuredClone(rec.runtimeSpec);
      runtimeSpec.annotations = { ...runtimeSpec.annotations, 'org.berth.container.name': name };
      const updated = this.rt.patch(rec.id, { name, runtimeSpec });
      this.rt.publish(namespace, 'containers.updated', { id: rec.id, name, image: rec.imageName, labels: rec.spec.labels });
      return updated;
    });
  }

  /** Connects a container to one more network: live when its task exists, and in its spec. */
  async connect(namespace: string, ref: string, endpoint: tasks.NetworkEndpoint | undefined): Promise<ContainerRecord> {
    if (!endpoint || endpoint.network.trim() === '') throw invalidArgument('endpoint.network: no network given');
    const found = this.rt.store.resolve(namespace, ref);
    return this.rt.locks.run(found.id, async () => {
      const rec = this.rt.store.get(found.id);
      if (!rec) throw notFound(`no such container: ${ref}`);
      const mode = networkMode(rec.spec);
      if (mode !== 'bridge' || endpoint.network === 'host' || endpoint.network === 'none') {
        throw failedPrecondition(
          `container ${rec.name} uses network ${JSON.stringify(mode === 'bridge' ? endpoint.network : mode)}, which cannot be combined with other networks`,
        );
      }
      const current = endpointsOf(rec.spec);
      if (current.some((n) => n.network === endpoint.network)) {
        throw alreadyExists(`container ${rec.name} is already connected to network ${endpoint.network}`);
      }
      const networks = [...current, endpoint];
      validateNetworks({ ...rec.spec, networks });
      let summaries = rec.networks;
      if (rec.task === 'present') {
        try {
          const a = await this.rt.deps.networking.attach(namespace, {
            containerId: rec.id,
            containerName: rec.name,
            netnsPath: rec.netnsPath,
            network: endpoint.network,
            aliases: endpoint.aliases,
            ipAddress: endpoint.ipAddress,
            ports: [],
            // Empty: the networking service picks the first free ethN (a disconnect can leave gaps).
            interfaceName: '',
          });
          const ip = a.ips[0];
          summaries = [
            ...rec.networks,
            { network: a.network, interfaceName: a.interfaceName, address: ip?.address ?? '', gateway: ip?.gateway ?? '', macAddress: a.macAddress, ports: a.ports },
          ];
        } catch (err) {
          throw withContext(err, `cannot connect container ${rec.name} to network ${endpoint.network}`);
        }
      }
      return this.rt.patch(rec.id, { spec: { ...rec.spec, networks }, networks: summaries });
    });
  }

  /** Disconnects a container from a network: live when its task exists, and from its spec. */
  async disconnect(namespace: string, ref: string, network: string, force: boolean): Promise<ContainerRecord> {
    if (network.trim() === '') throw invalidArgument('network: no network given');
    const found = this.rt.store.resolve(namespace, ref);
    return this.rt.locks.run(found.id, async () => {
      const rec = this.rt.store.get(found.id);
      if (!rec) throw notFound(`no such container: ${ref}`);
      const current = endpointsOf(rec.spec);
      if (!current.some((n) => n.network === network)) {
        throw notFound(`container ${rec.name} is not connected to network ${network}`);
      }
      if (rec.task === 'present' && networkMode(rec.spec) === 'bridge') {
        try {
          await this.rt.deps.networking.detach(namespace, rec.id, network);
        } catch (err) {
          if (!force) throw withContext(err, `cannot disconnect container ${rec.name} from network ${network}`);
          this.rt.logger.warn({ err, container: rec.id, network }, 'live detach failed; removed from the record (force)');
        }
      }
      const remaining = current.filter((n) => n.network !== network);
      // No network left means loopback only.
      const networks = remaining.length > 0 ? remaining : [{ network: 'none', aliases: [], ipAddress: '' }];
      return this.rt.patch(rec.id, {
        spec: { ...rec.spec, networks },
        networks: rec.networks.filter((n) => n.network !== network),
      });
    });
  }
}
