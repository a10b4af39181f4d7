// SnapshotsPort over the snapshots service.
import { snapshots, type types } from '@berth/api';
import { createClient } from '@berth/service-kit';
import { isNotFound } from '../errors.js';
import { SNAPSHOT_CONTAINER_LABEL, SNAPSHOT_OWNER_LABEL, type SnapshotsPort } from '../ports.js';
import { callUnary, type Peer } from './grpc-call.js';

export class GrpcSnapshots implements SnapshotsPort {
  private readonly client: snapshots.SnapshotsClient;
  private readonly peer: Peer;

  constructor(
    address: string,
    private readonly timeoutMs: number,
  ) {
    this.client = createClient(snapshots.SnapshotsClient, address);
    this.peer = { name: 'snapshots service', address };
  }

  async prepare(
    namespace: string,
    req: { snapshotter: string; key: string; parent: string; labels: Record<string, string> },
  ): Promise<types.Mount[]> {
    const res = await callUnary(this.peer, this.client.prepareSnapshot.bind(this.client), req, { namespace, timeoutMs: this.timeoutMs });
    return res.mounts;
  }

  async mounts(namespace: string, snapshotter: string, key: string): Promise<types.Mount[]> {
    const res = await callUnary(this.peer, this.client.getSnapshotMounts.bind(this.client), { snapshotter, key }, { namespace, timeoutMs: this.timeoutMs });
    return res.mounts;
  }

  async listContainerSnapshots(snapshotter: string, owner: string): Promise<{ key: string; containerId: string }[]> {
    const res = await callUnary(
      this.peer,
      this.client.listSnapshots.bind(this.client),
      // Filters of one key are alternatives: the owner's here, the container label checked below.
      { snapshotter, filters: ['kind=active', `label=${SNAPSHOT_OWNER_LABEL}=${owner}`] },
      { timeoutMs: this.timeoutMs },
    );
    return res.infos.map((i) => ({ key: i.name, containerId: i.labels[SNAPSHOT_CONTAINER_LABEL] ?? '' })).filter((s) => s.containerId !== '');
  }

  async remove(namespace: string, snapshotter: string, key: string): Promise<boolean> {
    try {
      await callUnary(this.peer, this.client.removeSnapshot.bind(this.client), { snapshotter, key }, { namespace, timeoutMs: this.timeoutMs });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  close(): void {
    this.client.close();
  }
}
