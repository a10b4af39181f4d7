// @berth/mount: Linux mounts for berth (overlay, bind, tmpfs, ...) through
// util-linux or, for overlays and unmounts, by system call (syscall-helper.ts),
// and the mount table of this mount namespace. The agent mounts container
// root filesystems with it, the snapshots service its views and
// layer scratch dirs, the testkit cleans up with it.
export { MountError } from './errors.js';
export {
  mountPointsUnder,
  overlayUsesUpper,
  parseMountInfo,
  parseMountInfoLine,
  unescapeMountInfo,
  type MountInfo,
} from './mountinfo.js';
export {
  MOUNT_DATA_LIMIT,
  compactOverlayOptions,
  destinationOf,
  isBind,
  mountArgs,
  syscallArgs,
  overlayPaths,
  validateMount,
  type Mount,
} from './options.js';
export { canonicalPath, isMountPoint, mountsAt, mountsUnder, overlayUpperInUse, readMountTable, type MountTools } from './table.js';
export { mountAll, unmount, unmountAll, unmountUnder } from './mount.js';
export { MNT_DETACH, MountSyscalls, SyscallError } from './syscall-helper.js';
