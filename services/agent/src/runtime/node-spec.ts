// What only the node that runs a container can add to its spec, once the
// rootfs is mounted: the user resolved against the image's own /etc/passwd
// and /etc/group, the node's device nodes and capabilities for a privileged
// container, and the check that every bind source exists here.
import { SpecError, withUser, type OciDevice, type OciProcess, type OciSpec, type ResolvedUser } from '@berth/runtime-spec';
import { ContainerError } from '../errors.js';
import { currentCapabilities } from '../spec/host-capabilities.js';
import { listHostDevices } from '../spec/host-devices.js';
import { resolveUserInRootfs } from '../spec/rootfs-user.js';
import { checkBindSources } from './checks.js';

/**
 * The ids of `user` in the container's rootfs; INVALID_ARGUMENT naming the
 * user when a name is unknown there. `what` says what runs ("container x").
 */
export async function resolveRunAs(containerId: string, rootfs: string, user: string, what: string): Promise<ResolvedUser> {
  try {
    return await resolveUserInRootfs(rootfs, user);
  } catch (err) {
    if (err instanceof SpecError) {
      throw new ContainerError('INVALID_ARGUMENT', `${what}: cannot run as user ${JSON.stringify(user)}: ${err.reason}`, { containerId, cause: err });
    }
    throw err;
  }
}

/** `spec` with `devices` added to linux.devices; a device the spec has at the same path wins. */
export function withDevices(spec: OciSpec, devices: readonly OciDevice[]): OciSpec {
  const own = spec.linux?.devices ?? [];
  const added = devices.filter((d) => !own.some((o) => o.path === d.path));
  return { ...spec, linux: { ...spec.linux, devices: [...own, ...added] } };
}

/** `process` with exactly the capabilities `caps` (bounding, effective, permitted). */
export function withCapabilities(process: OciProcess, caps: readonly string[]): OciProcess {
  return { ...process, capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] } };
}

/** `process` with every capability this node can grant. */
export async function withAllCapabilities(process: OciProcess): Promise<OciProcess> {
  return withCapabilities(process, await currentCapabilities());
}

export interface NodeSpecOptions {
  /** Resolve this user spec in the rootfs and run the process as it (see CreateOptions.user). */
  user?: string | undefined;
  /** Give the container this node's device nodes and every capability the agent holds. */
  privileged?: boolean | undefined;
}

/** The spec as this node runs it; INVALID_ARGUMENT for an unknown user or a missing bind source. */
export async function specForNode(id: string, spec: OciSpec, rootfs: string, opts: NodeSpecOptions): Promise<OciSpec> {
  let out = spec;
  if (opts.user !== undefined) out = { ...out, process: withUser(out.process, await resolveRunAs(id, rootfs, opts.user, `container ${id}`)) };
  if (opts.privileged) out = { ...withDevices(out, await listHostDevices()), process: await withAllCapabilities(out.process) };
  await checkBindSources(out);
  return out;
}
