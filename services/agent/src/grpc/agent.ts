// berth.agent.v1.Agent: what this node is and offers.
import { arch, hostname, platform } from 'node:os';
import { agent, types } from '@berth/api';
import { rpc } from './errors.js';

export interface AgentInfoDeps {
  nodeId: string;
  versions: Record<string, string>;
  cgroupVersion(): Promise<1 | 2>;
  capacity(): Promise<types.NodeCapacity>;
  runningTasks(): Promise<number>;
  cniPluginDirs: readonly string[];
}

/** Node's process.arch in GOARCH terms. Pure. */
export function goArch(nodeArch: string): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };
  return map[nodeArch] ?? nodeArch;
}

export function agentHandlers(deps: AgentInfoDeps): agent.AgentServer {
  return {
    getInfo: rpc(async () => {
      const [cgroupVersion, capacity, runningTasks] = await Promise.all([deps.cgroupVersion(), deps.capacity(), deps.runningTasks()]);
      return agent.GetInfoResponse.fromPartial({
        nodeId: deps.nodeId,
        hostname: hostname(),
        versions: deps.versions,
        os: platform(),
        architecture: goArch(arch()),
        cgroupVersion,
        capacity,
        runningTasks,
        cniPluginDirs: [...deps.cniPluginDirs],
      });
    }),
  };
}
