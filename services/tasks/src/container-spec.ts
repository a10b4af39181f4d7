// A container's OCI runtime spec from its ContainerSpec (the API's options)
// and its image's config, built by @berth/runtime-spec. Pure. The user is
// left unresolved: its names need the image's /etc/passwd and /etc/group,
// which only the agent that mounts the rootfs can read, so the agent resolves
// userOf(...) when it creates the task (as containerd resolves against the
// mounted rootfs). The same holds for what only the node knows of a
// privileged container (its devices and capabilities) and of bind sources.
import type { tasks } from '@berth/api';
import type { ImageRuntimeConfig } from '@berth/oci';
import {
  buildExecProcess,
  buildSpec,
  parseUserSpec,
  SpecError,
  type MountOption,
  type OciProcess,
  type OciSpec,
  type SpecHostFacts,
} from '@berth/runtime-spec';
import { invalidArgument } from './errors.js';

/** Annotations berth puts on every runtime spec it builds. */
export const ANNOTATIONS = {
  containerId: 'org.berth.container.id',
  containerName: 'org.berth.container.name',
  namespace: 'org.berth.namespace',
  image: 'org.berth.image',
} as const;

/** A SpecError as INVALID_ARGUMENT (its message names the option); anything else passes through. */
export function specInvalidArgument<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SpecError) throw invalidArgument(err.message);
    throw err;
  }
}

/** The network mode of a spec: "host", "none", or "bridge" (default or user networks). */
export function networkMode(spec: tasks.ContainerSpec): 'host' | 'none' | 'bridge' {
  const only = spec.networks.length === 1 ? spec.networks[0]!.network : undefined;
  return only === 'host' || only === 'none' ? only : 'bridge';
}

/** The user a container runs as, as given (`-u`) or as its image says; "" is the default (uid 0). */
export function userOf(spec: Pick<tasks.ContainerSpec, 'user'>, image: Pick<ImageRuntimeConfig, 'User'>): string {
  return spec.user || image.User || '';
}

/** INVALID_ARGUMENT unless `user` is a well-formed user spec; names are looked up by the agent. */
export function checkUserSpec(user: string, field: string): void {
  specInvalidArgument(() => parseUserSpec(user, field));
}

export interface SpecInputs {
  id: string;
  name: string;
  namespace: string;
  spec: tasks.ContainerSpec;
  /** Normalised image name (for the annotation). */
  imageName: string;
  /** The image config's runtime defaults ("config" object). */
  image: ImageRuntimeConfig;
  /** cgroups path for the container, e.g. "/berth/<id>". */
  cgroupsPath: string;
  host: SpecHostFacts;
  /** Host directory of a named volume. */
  volumePath(name: string): string;
  /** Host path of the init binary; needed only when spec.init is set. */
  initBinary?: string | undefined;
}

/** The API's mounts as the builder takes them: a volume is a bind of its host directory. */
function mountOptions(inputs: SpecInputs): MountOption[] {
  return inputs.spec.mounts.map((m) => ({
    type: m.type === 'tmpfs' ? 'tmpfs' : 'bind',
    source: m.type === 'volume' ? inputs.volumePath(m.source) : m.source,
    target: m.target,
    options: m.options,
  }));
}

/** The runtime spec of a container, before a task gives it a network namespace, name files and its user. */
export function buildRuntimeSpec(inputs: SpecInputs): OciSpec {
  const { spec } = inputs;
  if (spec.init && !inputs.initBinary) {
    throw invalidArgument("init: no init binary is configured on this node (set the tasks service's initPath)");
  }
  return specInvalidArgument(() =>
    buildSpec(inputs.image, {
      id: inputs.id,
      cgroupsPath: inputs.cgroupsPath,
      ...(spec.entrypoint !== undefined ? { entrypoint: spec.entrypoint.args } : {}),
      ...(spec.cmd !== undefined ? { cmd: spec.cmd.args } : {}),
      env: spec.env,
      ...(spec.workingDir ? { cwd: spec.workingDir } : {}),
      ...(spec.hostname ? { hostname: spec.hostname } : {}),
      ...(spec.domainname ? { domainname: spec.domainname } : {}),
      tty: spec.tty,
      readonlyRootfs: spec.readOnlyRootfs,
      ...(spec.resources ? { resources: spec.resources } : {}),
      capAdd: spec.capAdd,
      capDrop: spec.capDrop,
      privileged: spec.privileged,
      mounts: mountOptions(inputs),
      ...(spec.shmSizeBytes > 0 ? { shmSizeBytes: spec.shmSizeBytes } : {}),
      network: networkMode(spec) === 'host' ? 'host' : 'private',
      ...(spec.stopSignal ? { stopSignal: spec.stopSignal } : {}),
      ...(spec.init && inputs.initBinary ? { init: { path: inputs.initBinary } } : {}),
      annotations: {
        [ANNOTATIONS.containerId]: inputs.id,
        [ANNOTATIONS.containerName]: inputs.name,
        [ANNOTATIONS.namespace]: inputs.namespace,
        [ANNOTATIONS.image]: inputs.imageName,
      },
      host: inputs.host,
    }),
  );
}

/** The process of an exec: the container's process with the exec's overrides (its user is the agent's to resolve). */
export function buildExecProcessFor(base: OciProcess, opts: tasks.ProcessOptions): OciProcess {
  return specInvalidArgument(() =>
    buildExecProcess(base, { args: opts.args, env: opts.env, cwd: opts.workingDir, tty: opts.tty, privileged: opts.privileged }),
  );
}
