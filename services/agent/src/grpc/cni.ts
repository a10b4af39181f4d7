// berth.agent.v1.Cni: runs CNI plugin binaries for a conflist, as libcni's
// AddNetworkList/DelNetworkList/CheckNetworkList do, through @berth/cni, and
// removes what a deleted network's plugins left on the node.
// Conflists and results travel as JSON bytes; a plugin's own error (code,
// msg, details) travels in the status message and, as JSON, in the trailer
// CNI_ERROR_TRAILER.
import { stat } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { agent } from '@berth/api';
import {
  CniDelError,
  CniInvocationError,
  CniPluginError,
  ForeignResourceError,
  cniAdd,
  cniCheck,
  cniDel,
  getCachedAttachment,
  parseConflist,
  removeNetworkResources,
  resolveNetnsPath,
  validateContainerId,
  validateIfname,
  type CniCommand,
  type CniConfig,
  type NetworkConfigList,
  type RuntimeConf,
} from '@berth/cni';
import { failedPrecondition, invalidArgument, notFound, unary, type ServiceRegistration } from '@berth/service-kit';

/** Trailer carrying a CNI failure as JSON: { plugin, command, code, msg, details } or { plugin, command, reason }. */
export const CNI_ERROR_TRAILER = 'berth-cni-error-bin';

export interface CniServiceOptions {
  /** Plugin directories, ADD result cache, per-plugin timeout. */
  cni: CniConfig;
}

function checked<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw invalidArgument(`${what}: ${(e as Error).message}`);
  }
}

function parseJsonObject(what: string, bytes: Buffer): Record<string, unknown> | undefined {
  if (bytes.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw invalidArgument(`${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgument(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

interface Invocation {
  conflist: NetworkConfigList;
  runtime: RuntimeConf;
}

/** Checks a request's conflist and runtime conf completely before any plugin runs. */
function invocationOf(method: string, conflistJson: Buffer, rt: agent.CniRuntimeConf | undefined): Invocation {
  if (conflistJson.length === 0) throw invalidArgument(`${method}: conflist_json is empty`);
  const conflist = checked(`${method}: conflist_json`, () => parseConflist(conflistJson.toString('utf8')));
  if (!rt) throw invalidArgument(`${method}: runtime is missing`);
  checked(`${method}: runtime.container_id`, () => validateContainerId(rt.containerId));
  checked(`${method}: runtime.ifname`, () => validateIfname(rt.ifname));
  const netns = checked(`${method}: runtime.netns_path`, () => resolveNetnsPath(rt.netnsPath));
  const runtime: RuntimeConf = { containerId: rt.containerId, netns, ifname: rt.ifname };
  // empty means "not given": DEL and CHECK then use what the ADD cached
  if (Object.keys(rt.args).length > 0) runtime.args = rt.args;
  const capabilityArgs = parseJsonObject(`${method}: runtime.capability_args_json`, rt.capabilityArgsJson);
  if (capabilityArgs !== undefined) runtime.capabilityArgs = capabilityArgs;
  return { conflist, runtime };
}

function statusError(code: grpc.status, message: string, trailer: object): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  metadata.set(CNI_ERROR_TRAILER, Buffer.from(JSON.stringify(trailer)));
  return Object.assign(new Error(message), { code, details: message, metadata });
}

/** The status for a plugin's CNI error code (spec "Error" result); CHECK failures are FAILED_PRECONDITION. */
function pluginStatus(err: CniPluginError): grpc.status {
  if (err.command === 'CHECK') return grpc.status.FAILED_PRECONDITION;
  switch (err.code) {
    case 1: // incompatible CNI version
    case 2: // unsupported field in the network configuration
    case 4: // invalid necessary environment variables
    case 6: // failed to decode content
    case 7: // invalid network config
      return grpc.status.INVALID_ARGUMENT;
    case 3: // container unknown or does not exist
      return grpc.status.NOT_FOUND;
    case 11: // try again later
    case 50: // plugin not available
    case 51: // limited connectivity
      return grpc.status.UNAVAILABLE;
    case 5: // I/O failure
    case 999: // the Go skeleton's "internal" error
      return grpc.status.INTERNAL;
    default: // plugin-specific: the plugin refused in the state it found
      return grpc.status.FAILED_PRECONDITION;
  }
}

function invocationStatus(err: CniInvocationError): grpc.status {
  switch (err.reason) {
    case 'not-found':
      return grpc.status.FAILED_PRECONDITION;
    case 'timeout':
      return grpc.status.DEADLINE_EXCEEDED;
    default:
      return grpc.status.INTERNAL;
  }
}

interface Failure {
  code: grpc.status;
  trailer: object;
}

function failureOf(err: unknown): Failure | undefined {
  if (err instanceof CniPluginError) {
    const trailer = { plugin: err.plugin, command: err.command, code: err.code, msg: err.msg, ...(err.details ? { details: err.details } : {}) };
    return { code: pluginStatus(err), trailer };
  }
  if (err instanceof CniInvocationError) {
    return { code: invocationStatus(err), trailer: { plugin: err.plugin, command: err.command, reason: err.reason } };
  }
  // DEL ran every plugin; the first failure decides the status, the message names them all
  if (err instanceof CniDelError) return failureOf(err.errors[0]) ?? { code: grpc.status.INTERNAL, trailer: {} };
  return undefined;
}

/** A @berth/cni failure as a gRPC error that keeps the plugin's code and message; other errors unchanged. */
export function cniFailureStatus(err: unknown): unknown {
  const f = failureOf(err);
  return f ? statusError(f.code, (err as Error).message, f.trailer) : err;
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function runCni<T>(command: CniCommand, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const mapped = cniFailureStatus(err);
    if (mapped !== err || !(err instanceof Error)) throw mapped;
    throw new Error(`CNI ${command} failed: ${err.message}`, { cause: err });
  }
}

export function cniRegistration(opts: CniServiceOptions): ServiceRegistration {
  const config = opts.cni;
  const handlers: agent.CniServer = {
    addNetworkList: unary<agent.AddNetworkListRequest, agent.AddNetworkListResponse>(async (req) => {
      const { conflist, runtime } = invocationOf('AddNetworkList', req.conflistJson, req.runtime);
      if (runtime.netns === '') throw invalidArgument('AddNetworkList: runtime.netns_path is empty (ADD needs a network namespace)');
      if (!(await pathExists(runtime.netns))) throw notFound(`AddNetworkList: network namespace ${runtime.netns} does not exist`);
      const result = await runCni('ADD', () => cniAdd(conflist, runtime, config));
      return { resultJson: Buffer.from(JSON.stringify(result)) };
    }),
    // The plugins get the result this agent's ADD cached as prevResult, as
    // libcni does; @berth/cni takes no other, so prev_result_json is only checked.
    delNetworkList: unary<agent.DelNetworkListRequest, agent.DelNetworkListResponse>(async (req) => {
      const { conflist, runtime } = invocationOf('DelNetworkList', req.conflistJson, req.runtime);
      parseJsonObject('DelNetworkList: prev_result_json', req.prevResultJson);
      await runCni('DEL', () => cniDel(conflist, runtime, config));
      return {};
    }),
    checkNetworkList: unary<agent.CheckNetworkListRequest, agent.CheckNetworkListResponse>(async (req) => {
      const { conflist, runtime } = invocationOf('CheckNetworkList', req.conflistJson, req.runtime);
      parseJsonObject('CheckNetworkList: prev_result_json', req.prevResultJson);
      const key = { networkName: conflist.name, containerId: runtime.containerId, ifname: runtime.ifname };
      if (!(await getCachedAttachment(key, config))) {
        throw failedPrecondition(
          `CheckNetworkList: container ${runtime.containerId} (${runtime.ifname}) was never added to network "${conflist.name}" by this agent (no cached ADD result)`,
        );
      }
      await runCni('CHECK', () => cniCheck(conflist, runtime, config));
      return {};
    }),
    // Not a CNI command: what CNI leaves behind once a network is deleted.
    removeNetworkResources: unary<agent.RemoveNetworkResourcesRequest, agent.RemoveNetworkResourcesResponse>(async (req) => {
      if (req.conflistJson.length === 0) throw invalidArgument('RemoveNetworkResources: conflist_json is empty');
      const conflist = checked('RemoveNetworkResources: conflist_json', () => parseConflist(req.conflistJson.toString('utf8')));
      try {
        const removed = await removeNetworkResources(conflist);
        return {
          bridgesRemoved: removed.bridgesRemoved,
          firewallRulesRemoved: removed.firewallRulesRemoved,
          ipamDirsRemoved: removed.ipamDirsRemoved,
        };
      } catch (e) {
        if (e instanceof ForeignResourceError) throw failedPrecondition(`RemoveNetworkResources of network "${conflist.name}": ${e.message}`);
        throw new Error(`RemoveNetworkResources of network "${conflist.name}" failed: ${(e as Error).message}`, { cause: e });
      }
    }),
  };
  return { definition: agent.CniService, handlers };
}
