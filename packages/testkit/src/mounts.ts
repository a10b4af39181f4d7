// Removing a test directory: whatever is still mounted inside (a failed test,
// an interrupted debootstrap with /proc mounted) is unmounted first, so
// `rm -r` never walks into a mounted filesystem.
import { rm } from 'node:fs/promises';
import { unmountUnder } from '@berth/mount';

/** rm -rf that first unmounts anything mounted inside (lazily if busy). */
export async function removeTree(dir: string): Promise<void> {
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true });
}
