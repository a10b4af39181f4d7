/**
 * Mounting and unmounting through util-linux mount(8)/umount(8) (Node has
 * no mount(2)). mountAll is idempotent and all-or-nothing; the unmount
 * helpers say which mount point failed and why.
 */
import { runProcess, type ProcessOutput } from '@berth/process';
import { mkdir, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { MountError } from './errors.js';
import { compactOverlayOptions, destinationOf, isBind, mountArgs, overlayPaths, syscallArgs, validateMount, type Mount } from './options.js';
import { MNT_DETACH, SyscallError } from './syscall-helper.js';
import { canonicalPath, mountsAt, mountsUnder, type MountTools } from './table.js';

interface Outcome {
  ok: boolean;
  /** "exit code 32: <stderr>" or "signal SIGKILL". */
  detail: string;
}

async function runTool(file: string, args: string[], cwd: string | undefined, target: string): Promise<Outcome> {
  let r: ProcessOutput;
  try {
    r = await runProcess(file, args, cwd ? { cwd } : {});
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new MountError(target, e.code === 'ENOENT' ? `${file} is not installed (util-linux)` : `cannot run ${file}: ${e.message}`, e);
  }
  const how = r.code !== null ? `exit code ${r.code}` : `signal ${r.signal ?? 'unknown'}`;
  const output = `${r.stdout}${r.stderr}`.trim().slice(-4000);
  return { ok: r.code === 0, detail: output ? `${how}: ${output}` : how };
}

/** mount(8) reports a missing overlay layer as "special device overlay does not exist"; say which path is missing. */
async function checkSources(m: Mount, dest: string): Promise<void> {
  const paths: { option: string; path: string }[] = [];
  if (isBind(m)) paths.push({ option: 'source', path: m.source });
  if (m.type === 'overlay') paths.push(...overlayPaths(m.options));
  for (const { option, path } of paths) {
    if (!isAbsolute(path)) continue; // relative to a cwd only mount knows
    try {
      await stat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new MountError(dest, `cannot mount ${m.type} on ${dest}: ${option} ${path} does not exist`);
      throw new MountError(dest, `cannot mount ${m.type} on ${dest}: ${option} ${path}: ${(err as Error).message}`, err);
    }
  }
}

async function mountOne(m: Mount, dest: string, tools: MountTools): Promise<void> {
  await checkSources(m, dest);
  let options = m.options;
  let cwd: string | undefined;
  if (m.type === 'overlay') {
    try {
      ({ options, cwd } = compactOverlayOptions(m.options));
    } catch (err) {
      throw new MountError(dest, `cannot mount overlay on ${dest}: ${(err as Error).message}`, err);
    }
  }
  const how = options.length > 0 ? ` -o ${options.join(',').slice(0, 300)}${options.join(',').length > 300 ? '…' : ''}` : '';
  // Overlays (every container's rootfs) by the system call; the rest, rarer and with
  // mount(8)'s own rules (binds, propagation), through mount(8).
  const call = tools.syscalls && m.type === 'overlay' ? syscallArgs(options) : undefined;
  if (tools.syscalls && call) {
    const before = (await mountsAt(dest, tools)).length;
    try {
      await tools.syscalls.mount(m.source, dest, m.type, call.flags, call.data, cwd);
      return;
    } catch (err) {
      if (err instanceof SyscallError) throw new MountError(dest, `cannot mount ${m.type} ${m.source}${how} on ${dest}: ${err.message}`, err);
      // The helper itself failed, before or after the mount: mount(8) does it unless it was done.
      if ((await mountsAt(dest, tools)).length > before) return;
    }
  }
  const args = mountArgs({ ...m, options }, dest);
  const result = await runTool(tools.mountPath ?? 'mount', args, cwd, dest);
  if (!result.ok) throw new MountError(dest, `cannot mount ${m.type} ${m.source}${how} on ${dest}: ${result.detail}`);
}

/** Whether every destination already carries the mounts meant for it (same count; same type unless a bind). */
async function alreadyMounted(mounts: readonly Mount[], dests: string[], tools: MountTools): Promise<boolean> {
  for (const dest of new Set(dests)) {
    const want = mounts.filter((_, i) => dests[i] === dest);
    const have = await mountsAt(dest, tools);
    if (have.length !== want.length) return false;
    if (want.some((m, i) => !isBind(m) && have[i]!.fsType !== m.type)) return false;
  }
  return true;
}

/**
 * Mounts `mounts` in order onto `target` (created if missing; a mount's
 * `target` is a subdirectory of it). If every destination already carries
 * these mounts this is a no-op; a partial stack (a crash mid-way) is taken
 * down and rebuilt. On failure, whatever this call mounted is unmounted again.
 */
export async function mountAll(mounts: readonly Mount[], target: string, tools: MountTools = {}): Promise<void> {
  mounts.forEach((m, i) => validateMount(m, i, target));
  await mkdir(target, { recursive: true });
  const dests = mounts.map((m) => destinationOf(m, target));
  if (mounts.length > 0 && (await alreadyMounted(mounts, dests, tools))) return;
  const teardown = async () => {
    for (const dest of [...new Set(dests)].reverse()) await unmountAll(dest, tools);
  };
  await teardown();
  try {
    for (const [i, m] of mounts.entries()) await mountOne(m, dests[i]!, tools);
  } catch (err) {
    await teardown().catch(() => undefined);
    throw err;
  }
}

/** Unmounts the top mount on `target`; a target that is not mounted is an error. */
export async function unmount(target: string, opts: MountTools & { lazy?: boolean } = {}): Promise<void> {
  if (opts.syscalls) {
    const before = (await mountsAt(target, opts)).length;
    try {
      await opts.syscalls.umount(target, opts.lazy ? MNT_DETACH : 0);
      return;
    } catch (err) {
      if (err instanceof SyscallError) throw new MountError(target, `cannot unmount ${target}: ${err.message}`, err);
      // The helper itself failed, before or after the unmount: umount(8) does it unless it was done.
      if ((await mountsAt(target, opts)).length < before) return;
    }
  }
  const result = await runTool(opts.umountPath ?? 'umount', [...(opts.lazy ? ['-l'] : []), '--', target], undefined, target);
  if (!result.ok) throw new MountError(target, `cannot unmount ${target}: ${result.detail}`);
}

/** Unmounts everything stacked on `target`; a target that is not mounted (or missing) is fine. */
export async function unmountAll(target: string, opts: MountTools & { lazy?: boolean } = {}): Promise<void> {
  const path = await canonicalPath(target);
  for (let guard = 0; guard < 64; guard++) {
    if ((await mountsAt(path, opts)).length === 0) return;
    await unmount(path, opts).catch(async (err: unknown) => {
      if ((await mountsAt(path, opts)).length > 0) throw err;
    });
  }
  throw new MountError(target, `cannot unmount ${target}: still mounted after 64 unmounts`);
}

/**
 * Unmounts everything at or below `dir`, deepest first (teardown, crash
 * leftovers); lazily where a mount is busy, so it cannot keep a tree alive.
 * Returns the mount points taken down.
 */
export async function unmountUnder(dir: string, tools: MountTools = {}): Promise<string[]> {
  const done: string[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const deepest = (await mountsUnder(dir, tools))[0];
    if (deepest === undefined) return done;
    try {
      await unmount(deepest, tools);
    } catch (err) {
      await unmount(deepest, { ...tools, lazy: true }).catch((lazyErr: unknown) => {
        throw new MountError(deepest, `cannot unmount ${deepest} under ${dir}, not even lazily: ${(lazyErr as Error).message}`, err);
      });
    }
    done.push(deepest);
  }
  throw new MountError(dir, `mounts under ${dir} keep reappearing; gave up unmounting`);
}
