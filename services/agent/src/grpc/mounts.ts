// berth.agent.v1.Mounts: root file systems from snapshot mounts, for callers
// that need one outside a container's create (e.g. to read an image's
// /etc/passwd), over the same idempotent mountAll / unmountAll.
import { rmdir } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { agent } from '@berth/api';
import { ContainerError, errnoCode, MountError } from '../errors.js';
import { mountAll, unmountAll, type MountTools } from '@berth/mount';
import { mountSpecs } from './convert.js';
import { rpc } from './errors.js';

function requireTarget(target: string): string {
  if (!isAbsolute(target)) throw new ContainerError('INVALID_ARGUMENT', `target must be an absolute path, got ${JSON.stringify(target)}`);
  return target;
}

export function mountsHandlers(tools: MountTools = {}): agent.MountsServer {
  return {
    mountRootfs: rpc(async (req: agent.MountRootfsRequest) => {
      const target = requireTarget(req.target);
      if (req.mounts.length === 0) throw new ContainerError('INVALID_ARGUMENT', `no mounts given for ${target}`);
      await mountAll(mountSpecs(req.mounts), target, tools);
      return agent.MountRootfsResponse.fromPartial({});
    }),

    unmountRootfs: rpc(async (req: agent.UnmountRootfsRequest) => {
      const target = requireTarget(req.target);
      try {
        await unmountAll(target, tools);
      } catch (err) {
        // Busy (a process still uses it): a state problem, not bad input.
        if (err instanceof MountError) throw new ContainerError('INVALID_STATE', err.message, { cause: err });
        throw err;
      }
      if (req.removeTarget) {
        try {
          await rmdir(target);
        } catch (err) {
          const code = errnoCode(err);
          if (code === 'ENOTEMPTY' || code === 'EEXIST') {
            throw new ContainerError('INVALID_STATE', `unmounted ${target}, but it is not empty, so it was not removed`);
          }
          if (code !== 'ENOENT') throw err;
        }
      }
      return agent.UnmountRootfsResponse.fromPartial({});
    }),
  };
}
