// The Volumes API's operations: create, get, list, remove and prune, each
// scoped to a namespace. A volume is in use while any container record of
// its namespace mounts it, whatever that container's state (as in Docker);
// such a volume is never removed. Every check-then-remove runs without an
// await in between, so a container create cannot slip in.
import { randomBytes } from 'node:crypto';
import type { ContainerStore } from '../store/containers.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { VOLUME_NAME } from '../validate.js';
import { matchesVolumeFilters, parseVolumeFilters } from './filters.js';
import { directorySize } from './size.js';
import type { VolumeRecord, VolumeStore } from './store.js';

/** A volume as the API shows it. */
export interface VolumeView {
  volume: VolumeRecord;
  mountpoint: string;
  /** Ids of the containers that mount it. */
  usedBy: string[];
  /** Bytes of data, or -1 when not measured. */
  size: number;
}

/** What a prune removed. */
export interface PruneResult {
  removed: string[];
  reclaimedBytes: number;
}

/** A new volume name: 64 hex digits, as Docker names anonymous volumes. */
export function generateVolumeName(): string {
  return randomBytes(32).toString('hex');
}

/** `name` if it is a valid volume name; INVALID_ARGUMENT naming it otherwise. */
export function checkVolumeName(name: string): string {
  if (!VOLUME_NAME.test(name)) {
    throw invalidArgument(`invalid volume name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters`);
  }
  return name;
}

function checkLabels(labels: Record<string, string>): Record<string, string> {
  for (const key of Object.keys(labels)) if (key.trim() === '') throw invalidArgument('labels: a label key is empty');
  return labels;
}

export class VolumesApi {
  constructor(
    private readonly volumes: VolumeStore,
    private readonly containers: Pick<ContainerStore, 'list'>,
  ) {}

  /** Container ids mounting each volume of the namespace, by volume name. */
  private users(namespace: string): Map<string, string[]> {
    const users = new Map<string, string[]>();
    for (const rec of this.containers.list(namespace)) {
      for (const m of rec.spec.mounts) {
        if (m.type !== 'volume' || m.source === '') continue;
        const ids = users.get(m.source) ?? [];
        if (!ids.includes(rec.id)) ids.push(rec.id);
        users.set(m.source, ids);
      }
    }
    return users;
  }

  private async view(volume: VolumeRecord, usedBy: string[], withSize: boolean): Promise<VolumeView> {
    const mountpoint = this.volumes.dataPath(volume.namespace, volume.name);
    return { volume, mountpoint, usedBy, size: withSize ? await directorySize(mountpoint) : -1 };
  }

  /**
   * Creates a volume; an existing one is returned unchanged. Without a name
   * it gets 64 hex digits and counts as anonymous: nobody refers to it by
   * name, so a plain prune may remove it once unused.
   */
  async create(namespace: string, name: string, labels: Record<string, string>): Promise<VolumeView> {
    const wanted = name === '' ? generateVolumeName() : checkVolumeName(name);
    const { volume } = this.volumes.ensure(namespace, wanted, { labels: checkLabels(labels), anonymous: name === '' });
    return this.view(volume, this.users(namespace).get(wanted) ?? [], false);
  }

  async get(namespace: string, name: string, withSize: boolean): Promise<VolumeView> {
    const volume = this.volumes.require(namespace, name);
    return this.view(volume, this.users(namespace).get(name) ?? [], withSize);
  }

  /** Volumes matching the filters (name, label, dangling), by name. */
  async list(namespace: string, filters: readonly string[], withSize: boolean): Promise<VolumeView[]> {
    const parsed = parseVolumeFilters(filters, ['name', 'label', 'dangling']);
    const users = this.users(namespace);
    const out: VolumeView[] = [];
    for (const volume of this.volumes.list(namespace)) {
      const usedBy = users.get(volume.name) ?? [];
      if (!matchesVolumeFilters({ name: volume.name, labels: volume.labels, dangling: usedBy.length === 0 }, parsed)) continue;
      out.push(await this.view(volume, usedBy, withSize));
    }
    return out;
  }

  /**
   * Removes a volume and its data. A volume in use is FAILED_PRECONDITION,
   * naming the containers, even with `force`; `force` only makes a missing
   * volume not an error. Returns whether a volume was removed.
   */
  remove(namespace: string, name: string, force: boolean): boolean {
    const volume = this.volumes.get(namespace, name);
    if (!volume) {
      if (force) return false;
      this.volumes.require(namespace, name);
    }
    const usedBy = this.users(namespace).get(name) ?? [];
    if (usedBy.length > 0) {
      throw failedPrecondition(`volume ${name} is in use by container${usedBy.length > 1 ? 's' : ''} ${usedBy.join(', ')}; remove ${usedBy.length > 1 ? 'them' : 'it'} first`);
    }
    this.volumes.remove(namespace, name);
    return true;
  }

  /**
   * Removes every volume no container uses that passes the filters (label):
   * anonymous ones only, unless `all` (Docker ≥ 23). Returns their names and
   * the bytes their data used.
   */
  async prune(namespace: string, all: boolean, filters: readonly string[]): Promise<PruneResult> {
    const parsed = parseVolumeFilters(filters, ['label']);
    const candidates = this.volumes
      .list(namespace)
      .filter((v) => (all || v.anonymous) && matchesVolumeFilters({ name: v.name, labels: v.labels, dangling: true }, parsed));
    const result: PruneResult = { removed: [], reclaimedBytes: 0 };
    for (const candidate of candidates) {
      if (this.users(namespace).has(candidate.name)) continue;
      const size = await directorySize(this.volumes.dataPath(namespace, candidate.name));
      // Checked again after the await: a container created meanwhile keeps it.
      if (this.users(namespace).has(candidate.name) || !this.volumes.get(namespace, candidate.name)) continue;
      this.volumes.remove(namespace, candidate.name);
      result.removed.push(candidate.name);
      result.reclaimedBytes += size;
    }
    return result;
  }
}
