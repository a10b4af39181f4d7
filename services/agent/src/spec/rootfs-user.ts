// Resolving a user spec against a container's mounted rootfs: its
// /etc/passwd and /etc/group are read without following links out of the
// rootfs (rootfs-path.ts), then resolved with runc's rules (@berth/runtime-spec).
import { parseGroup, parsePasswd, resolveUser, SpecError, type ResolvedUser, type ResolveUserOptions } from '@berth/runtime-spec';
import { readFileInRoot, RootfsFileError } from './rootfs-path.js';

async function readUserFile(rootfs: string, path: string, field: string): Promise<string | undefined> {
  try {
    return await readFileInRoot(rootfs, path, 4 * 1024 * 1024);
  } catch (err) {
    if (err instanceof RootfsFileError) throw new SpecError(field, `cannot read ${path} of the container: ${err.message}`);
    throw err;
  }
}

/**
 * The uid, gid, supplementary gids and home of `spec` in the rootfs mounted
 * at `rootfs`; SpecError when a name is unknown or the files are unusable.
 */
export async function resolveUserInRootfs(rootfs: string, spec: string, opts: ResolveUserOptions = {}): Promise<ResolvedUser> {
  const field = opts.field ?? 'user';
  const [passwd, group] = await Promise.all([readUserFile(rootfs, '/etc/passwd', field), readUserFile(rootfs, '/etc/group', field)]);
  return resolveUser(spec, passwd === undefined ? undefined : parsePasswd(passwd), group === undefined ? undefined : parseGroup(group), opts);
}
