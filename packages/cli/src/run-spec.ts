// `run`/`create` flags as the tasks service's CreateContainerRequest. The
// flags were checked (run-flags.ts) before any call, so a bad flag costs nothing.
import * as tasks from '@berth/api/tasks';
import * as types from '@berth/api/types';
import { labelsFrom } from './parse/env.js';
import type { PortProtocol } from './parse/ports.js';
import type { RestartSpec } from './parse/restart.js';
import { allMounts, checkConflicts, environment, type RunFlags, type SpecInputs } from './run-flags.js';

export type { RunFlags, SpecInputs } from './run-flags.js';

const PROTOCOL: Record<PortProtocol, types.Protocol> = {
  tcp: types.Protocol.TCP,
  udp: types.Protocol.UDP,
  sctp: types.Protocol.SCTP,
};

const RESTART: Record<RestartSpec['name'], tasks.RestartPolicyName> = {
  no: tasks.RestartPolicyName.NO,
  always: tasks.RestartPolicyName.ALWAYS,
  'unless-stopped': tasks.RestartPolicyName.UNLESS_STOPPED,
  'on-failure': tasks.RestartPolicyName.ON_FAILURE,
};

function mounts(f: RunFlags, inputs: SpecInputs): types.Mount[] {
  return allMounts(f).map((m) =>
    types.Mount.fromPartial({
      type: m.type,
      source: m.type === 'volume' && m.source === '' ? inputs.randomName() : m.source,
      target: m.target,
      options: m.options,
    }),
  );
}

function networks(f: RunFlags): tasks.NetworkEndpoint[] {
  return f.network.map((network, i) =>
    tasks.NetworkEndpoint.fromPartial({
      network,
      aliases: i === 0 ? f.networkAlias : [],
      ipAddress: i === 0 ? (f.ip ?? '') : '',
    }),
  );
}

/** The CreateContainerRequest for `run`/`create` IMAGE [COMMAND...] with these flags. */
export function buildCreateRequest(
  image: string,
  command: string[],
  f: RunFlags,
  inputs: SpecInputs,
): tasks.CreateContainerRequest {
  checkConflicts(f);
  const entrypoint = f.entrypoint === undefined ? undefined : { args: f.entrypoint === '' ? [] : [f.entrypoint] };
  // Docker: an --entrypoint override drops the image's CMD too, unless a command is given
  const cmd = command.length > 0 ? { args: command } : entrypoint ? { args: [] } : undefined;
  const spec = tasks.ContainerSpec.fromPartial({
    image,
    platform: undefined,
    entrypoint,
    cmd,
    env: environment(f, inputs),
    workingDir: f.workdir ?? '',
    user: f.user ?? '',
    hostname: f.hostname ?? '',
    domainname: f.domainname ?? '',
    tty: f.tty === true,
    openStdin: f.interactive === true,
    mounts: mounts(f, inputs),
    readOnlyRootfs: f.readOnly === true,
    resources: {
      memoryBytes: f.memory ?? 0,
      memorySwapBytes: f.memorySwap ?? 0,
      nanoCpus: f.cpus ?? 0,
      cpuShares: f.cpuShares ?? 0,
      cpusetCpus: f.cpusetCpus ?? '',
      pidsLimit: f.pidsLimit ?? 0,
    },
    capAdd: f.capAdd,
    capDrop: f.capDrop,
    privileged: f.privileged === true,
    shmSizeBytes: f.shmSize ?? 0,
    stopSignal: f.stopSignal ?? '',
    ...(f.stopTimeout !== undefined ? { stopTimeoutSeconds: f.stopTimeout } : {}),
    init: f.init === true,
    restartPolicy: f.restart ? { name: RESTART[f.restart.name], maxRetries: f.restart.maxRetries } : undefined,
    labels: labelsFrom(f.label),
    networks: networks(f),
    ports: f.publish.flat().map((p) => ({ ...p, protocol: PROTOCOL[p.protocol] })),
    publishAll: f.publishAll === true,
    exposedPorts: f.expose,
    extraHosts: f.addHost,
    dns: f.dns.length + f.dnsSearch.length + f.dnsOption.length > 0 ? { servers: f.dns, search: f.dnsSearch, options: f.dnsOption } : undefined,
    // --rm: a detached container is removed by the tasks service when it exits; a
    // foreground run removes its container itself once its output has been read
    autoRemove: f.rm === true && f.detach === true,
  });
  return tasks.CreateContainerRequest.fromPartial({ name: f.name ?? '', spec });
}
