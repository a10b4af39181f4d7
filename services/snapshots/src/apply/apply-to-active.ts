import { readdirSync } from 'node:fs';
import { isSha256Digest } from '../chain-id.js';
import { SnapshotError } from '../errors.js';
import { FsHelper } from '../fsops/helper.js';
import { captureRoot, restoreRoot } from '../fsops/root-state.js';
import { syncFilesystem } from '../fsops/sync.js';
import { overlayUpperInUse } from '@berth/mount';
import type { Snapshotter } from '../snapshotter.js';
import { applyTar, type ApplyResult } from './apply-tar.js';
import type { ByteStream } from './apply-layer.js';

export interface ApplyToActiveRequest {
  /** The layer blob (tar, gzip or zstd). */
  stream: ByteStream;
  mediaType?: string;
  /** The layer's diff_id; the uncompressed stream is verified against it. */
  expectedDiffId: string;
  /** Allow char/block device nodes (default true). */
  allowDevices?: boolean;
}

function discard(stream: ByteStream): void {
  (stream as { destroy?: () => void }).destroy?.();
}

/**
 * Applies one layer into an existing active snapshot (the caller prepared it
 * and will commit it), as containerd's diff Apply does. On overlay the
 * snapshot must have no changes of its own yet: whiteouts only hide lower
 * layers, so a layer written over earlier changes would not delete them.
 * While the layer is applied the snapshot is reserved (commit and remove are
 * refused). Any failure discards the snapshot's changes and restores its
 * root directory's attributes, so nothing of the layer is kept.
 */
export async function applyToActive(sn: Snapshotter, key: string, req: ApplyToActiveRequest): Promise<ApplyResult> {
  if (!isSha256Digest(req.expectedDiffId)) {
    discard(req.stream);
    throw new SnapshotError('invalid_argument', `diff id ${JSON.stringify(req.expectedDiffId)} is not a sha256 digest (sha256:<64 hex>)`);
  }
  const run = async (): Promise<ApplyResult> => {
    const target = sn.applyTarget(key);
    if (target.overlay) {
      if (readdirSync(target.root).length > 0) {
        throw new SnapshotError(
          'failed_precondition',
          `snapshot ${JSON.stringify(key)} already has changes of its own; a layer is applied to a freshly prepared snapshot`,
        );
      }
      if (await overlayUpperInUse(target.root)) {
        throw new SnapshotError(
          'failed_precondition',
          `snapshot ${JSON.stringify(key)} is mounted; unmount it before applying a layer (overlay forbids changing a mounted upper dir)`,
        );
      }
    }
    const helper = new FsHelper();
    try {
      const root = await captureRoot(target.root, helper);
      try {
        const result = await applyTar(target, req.stream, {
          expectedDiffId: req.expectedDiffId,
          ...(req.mediaType !== undefined ? { mediaType: req.mediaType } : {}),
          ...(req.allowDevices !== undefined ? { allowDevices: req.allowDevices } : {}),
        });
        await syncFilesystem(target.root);
        return result;
      } catch (err) {
        try {
          await sn.discardChanges(key);
          await restoreRoot(target.root, root, helper);
        } catch (cleanupErr) {
          throw new SnapshotError(
            'internal',
            `${(err as Error).message}; discarding what was applied to snapshot ${JSON.stringify(key)} failed too: ${(cleanupErr as Error).message}`,
            { cause: err },
          );
        }
        throw err;
      }
    } finally {
      await helper.close();
    }
  };
  try {
    return await sn.reserve(key, 'a layer is being applied to it', run);
  } catch (err) {
    discard(req.stream);
    throw err;
  }
}
