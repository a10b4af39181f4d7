import { lchownSync, lstatSync, lutimesSync, chmodSync } from 'node:fs';
import type { FsHelper } from './helper.js';

/** A directory's own attributes: what a layer's "./" entry may change. */
export interface RootState {
  mode: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
  xattrs: Map<string, Buffer>;
}

export async function captureRoot(dir: string, helper: FsHelper): Promise<RootState> {
  const st = lstatSync(dir);
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, atimeMs: st.atimeMs, mtimeMs: st.mtimeMs, xattrs: await helper.listXattrs(dir) };
}

/** Puts a directory's attributes back as captured: owner, mode, xattrs (added ones removed), times. */
export async function restoreRoot(dir: string, state: RootState, helper: FsHelper): Promise<void> {
  lchownSync(dir, state.uid, state.gid);
  chmodSync(dir, state.mode); // after chown, which clears set-id bits
  const now = await helper.listXattrs(dir);
  for (const name of now.keys()) if (!state.xattrs.has(name)) await helper.removeXattr(dir, name);
  for (const [name, value] of state.xattrs) if (!now.get(name)?.equals(value)) await helper.setXattr(dir, name, value);
  lutimesSync(dir, state.atimeMs / 1000, state.mtimeMs / 1000);
}
