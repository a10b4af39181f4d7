// The CniExecutor of production: every CNI, netns and host operation runs in
// the node agent, called over its Cni and Netns gRPC APIs; this process
// touches no host interface, namespace or IPAM file itself.
import * as grpc from '@grpc/grpc-js';
import { agent } from '@berth/api';
import type { CniResult, NetworkConfigList, RuntimeConf } from '@berth/cni';
import type { CniExecutor } from './executor.js';

/** Trailer in which the agent reports a CNI plugin's own error (JSON). */
export const CNI_ERROR_TRAILER = 'berth-cni-error-bin';

/** A CNI plugin's error as the agent forwards it. */
export interface AgentCniFailure {
  plugin?: string;
  command?: string;
  /** CNI error code (1..99 well-known, 100+ plugin-specific). */
  code?: number;
  msg?: string;
  details?: string;
  /** Why a plugin could not be run at all (not-found, timeout, ...). */
  reason?: string;
}

/**
 * A failed call to the agent. `code` is the gRPC status (so the networking
 * API answers with the same one); `msg` is the plugin's own message when a
 * plugin failed, which the core reads to tell address exhaustion apart.
 */
export class AgentCallError extends Error {
  readonly code: grpc.status;
  readonly msg: string | undefined;
  readonly cni: AgentCniFailure | undefined;

  constructor(method: string, address: string, err: grpc.ServiceError) {
    const cni = cniFailureOf(err.metadata);
    const what = err.code === grpc.status.UNAVAILABLE ? `node agent at ${address} is unreachable` : `node agent ${method} failed`;
    super(`${what}: ${err.details || err.message}`, { cause: err });
    this.name = 'AgentCallError';
    this.code = err.code;
    this.cni = cni;
    this.msg = cni?.msg;
  }
}

function cniFailureOf(metadata: grpc.Metadata | undefined): AgentCniFailure | undefined {
  const raw = metadata?.get(CNI_ERROR_TRAILER)[0];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8')) as AgentCniFailure;
  } catch {
    return undefined;
  }
}

type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;

export interface AgentExecutorOptions {
  cni: agent.CniClient;
  netns: agent.NetnsClient;
  /** The agent's address, for error messages. */
  address: string;
  /** Deadline of one call (an ADD runs every plugin of the list). */
  callTimeoutMs: number;
}

function runtimeToProto(rt: RuntimeConf): agent.CniRuntimeConf {
  return agent.CniRuntimeConf.fromPartial({
    containerId: rt.containerId,
    netnsPath: rt.netns,
    ifname: rt.ifname,
    args: rt.args ?? {},
    // empty bytes mean "not given": the agent then uses what its ADD cached
    capabilityArgsJson: rt.capabilityArgs === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(rt.capabilityArgs)),
  });
}

function conflistBytes(conflist: NetworkConfigList): Buffer {
  return Buffer.from(JSON.stringify(conflist));
}

export function agentCniExecutor(opts: AgentExecutorOptions): CniExecutor {
  const call = <Req, Res>(name: string, method: UnaryMethod<Req, Res>, req: Req): Promise<Res> =>
    new Promise((resolve, reject) => {
      method(req, new grpc.Metadata(), { deadline: Date.now() + opts.callTimeoutMs }, (err, res) =>
        err ? reject(new AgentCallError(name, opts.address, err)) : resolve(res),
      );
    });
  const { cni, netns } = opts;

  return {
    add: async (conflist, rt) => {
      const res = await call('Cni.AddNetworkList', cni.addNetworkList.bind(cni), {
        conflistJson: conflistBytes(conflist),
        runtime: runtimeToProto(rt),
      });
      try {
        return JSON.parse(res.resultJson.toString('utf8')) as CniResult;
      } catch (e) {
        throw new Error(`node agent Cni.AddNetworkList returned a result that is not JSON: ${(e as Error).message}`, { cause: e });
      }
    },
    // prev_result_json stays empty: the agent hands the plugins the result its ADD cached
    del: async (conflist, rt) => {
      await call('Cni.DelNetworkList', cni.delNetworkList.bind(cni), {
        conflistJson: conflistBytes(conflist),
        runtime: runtimeToProto(rt),
        prevResultJson: Buffer.alloc(0),
      });
    },
    check: async (conflist, rt) => {
      await call('Cni.CheckNetworkList', cni.checkNetworkList.bind(cni), {
        conflistJson: conflistBytes(conflist),
        runtime: runtimeToProto(rt),
        prevResultJson: Buffer.alloc(0),
      });
    },
    listNetns: async () => {
      const res = await call('Netns.ListNetns', netns.listNetns.bind(netns), {});
      return res.namespaces.map((n) => ({ containerId: n.containerId, name: n.name }));
    },
    removeNetns: async (containerId) => {
      try {
        await call('Netns.RemoveNetns', netns.removeNetns.bind(netns), { containerId, ignoreMissing: false });
        return true;
      } catch (e) {
        if (e instanceof AgentCallError && e.code === grpc.status.NOT_FOUND) return false;
        throw e;
      }
    },
    removeNetworkResources: async (conflist) => {
      await call('Cni.RemoveNetworkResources', cni.removeNetworkResources.bind(cni), { conflistJson: conflistBytes(conflist) });
    },
  };
}
