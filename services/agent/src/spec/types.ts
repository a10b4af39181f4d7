// The OCI runtime spec (config.json), the parts berth writes. Field names as
// in opencontainers/runtime-spec 1.0.2, which runc 1.1 implements.

export interface RuntimeSpec {
  ociVersion: string;
  process?: SpecProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: SpecMount[];
  annotations?: Record<string, string>;
  linux?: SpecLinux;
}

export interface SpecUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface SpecProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: SpecUser;
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: {
    bounding?: string[];
    effective?: string[];
    inheritable?: string[];
    permitted?: string[];
    ambient?: string[];
  };
  rlimits?: Array<{ type: string; hard: number; soft: number }>;
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface SpecMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface SpecNamespace {
  type: 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';
  path?: string;
}

export interface SpecDevice {
  type: 'c' | 'b' | 'u' | 'p';
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface SpecDeviceCgroup {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}

export interface SpecResources {
  devices?: SpecDeviceCgroup[];
  memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
}

export interface SpecLinux {
  namespaces?: SpecNamespace[];
  devices?: SpecDevice[];
  cgroupsPath?: string;
  resources?: SpecResources;
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rootfsPropagation?: string;
}
