// Resolves a user spec against the passwd and group files of a container's
// root filesystem, read from its snapshot mounts.
import type { types } from '@berth/api';
import type { RootfsReader } from '../ports.js';
import { parseGroup, parsePasswd, resolveUser, type ResolvedUser } from '../spec/user.js';
import type { Logger } from './context.js';

export async function resolveUserInRootfs(
  rootfs: RootfsReader,
  mounts: readonly types.Mount[],
  userSpec: string,
  logger: Logger,
): Promise<ResolvedUser> {
  const read = async (path: string) => {
    try {
      return (await rootfs.readFile(mounts, path))?.toString('utf8');
    } catch (err) {
      logger.warn({ err, path }, 'cannot read a file of the container rootfs; treating it as absent');
      return undefined;
    }
  };
  const passwd = await read('/etc/passwd');
  const group = await read('/etc/group');
  return resolveUser(
    userSpec,
    passwd === undefined ? undefined : parsePasswd(passwd),
    group === undefined ? undefined : parseGroup(group),
  );
}
