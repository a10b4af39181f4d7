// Finding a container's cgroup directories on cgroup v1 (one hierarchy per
// controller, possibly hybrid with an empty v2 mount) and v2 (one unified
// hierarchy). Pure parsers plus a reader of the live system.
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';

export interface CgroupMount {
  mountPoint: string;
  /** The cgroup this mount shows as its root ("/" unless in a nested namespace). */
  root: string;
  version: 1 | 2;
  /** v1: the controllers of this hierarchy (e.g. ["cpu", "cpuacct"]); v2: []. */
  controllers: string[];
}

export interface CgroupSystem {
  /** 1 when any v1 controller hierarchy is mounted (legacy or hybrid), else 2. */
  version: 1 | 2;
  mounts: CgroupMount[];
}

const V1_CONTROLLERS = new Set([
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'blkio',
  'perf_event', 'net_prio', 'hugetlb', 'pids', 'rdma', 'misc',
]);

function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/self/mountinfo for cgroup and cgroup2 mounts. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    if (!line.trim()) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fsType = right[0];
    const root = left[3];
    const mountPoint = left[4];
    if (root === undefined || mountPoint === undefined) continue;
    if (fsType === 'cgroup2') {
      mounts.push({ mountPoint: unescapeMountField(mountPoint), root: unescapeMountField(root), version: 2, controllers: [] });
    } else if (fsType === 'cgroup') {
      const superOptions = (right[2] ?? '').split(',');
      const controllers = superOptions.filter((o) => V1_CONTROLLERS.has(o));
      mounts.push({ mountPoint: unescapeMountField(mountPoint), root: unescapeMountField(root), version: 1, controllers });
    }
  }
  return mounts;
}

export function cgroupSystemFromMounts(mounts: CgroupMount[]): CgroupSystem {
  const v1 = mounts.some((m) => m.version === 1 && m.controllers.length > 0);
  return { version: v1 ? 1 : 2, mounts };
}

export async function readCgroupSystem(mountinfoPath = '/proc/self/mountinfo'): Promise<CgroupSystem> {
  return cgroupSystemFromMounts(parseCgroupMounts(await readFile(mountinfoPath, 'utf8')));
}

export interface ProcCgroupEntry {
  /** v1 controllers of the hierarchy; [] for the v2 entry ("0::/path"). */
  controllers: string[];
  path: string;
}

/** Parses /proc/<pid>/cgroup. */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const entries: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    entries.push({ controllers: m[2] ? m[2].split(',') : [], path: m[3] ?? '/' });
  }
  return entries;
}

/** The three controllers berth reads stats from, as directories. */
export interface ContainerCgroup {
  version: 1 | 2;
  memory: string | undefined;
  /** v1: the cpuacct hierarchy (usage in ns); v2: the unified dir. */
  cpu: string | undefined;
  pids: string | undefined;
}

function dirIn(mount: CgroupMount, cgroupPath: string): string {
  const rel = mount.root !== '/' && (cgroupPath === mount.root || cgroupPath.startsWith(`${mount.root}/`))
    ? cgroupPath.slice(mount.root.length)
    : cgroupPath;
  return posix.join(mount.mountPoint, rel || '/');
}

function v1Dir(system: CgroupSystem, controller: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const mount = system.mounts.find((m) => m.version === 1 && m.controllers.includes(controller));
  return mount ? dirIn(mount, path) : undefined;
}

function v2Mount(system: CgroupSystem): CgroupMount | undefined {
  return system.mounts.find((m) => m.version === 2);
}

/** Directories from the container init's /proc/<pid>/cgroup. */
export function containerCgroupFromProc(system: CgroupSystem, procCgroup: string): ContainerCgroup {
  const entries = parseProcCgroup(procCgroup);
  if (system.version === 2) {
    const unified = entries.find((e) => e.controllers.length === 0);
    const mount = v2Mount(system);
    const dir = unified && mount ? dirIn(mount, unified.path) : undefined;
    return { version: 2, memory: dir, cpu: dir, pids: dir };
  }
  const pathOf = (c: string): string | undefined => entries.find((e) => e.controllers.includes(c))?.path;
  return {
    version: 1,
    memory: v1Dir(system, 'memory', pathOf('memory')),
    cpu: v1Dir(system, 'cpuacct', pathOf('cpuacct')),
    pids: v1Dir(system, 'pids', pathOf('pids')),
  };
}

/** Directories from the spec's linux.cgroupsPath (cgroupfs driver, absolute path). */
export function containerCgroupFromPath(system: CgroupSystem, cgroupsPath: string): ContainerCgroup {
  const path = cgroupsPath.startsWith('/') ? cgroupsPath : `/${cgroupsPath}`;
  if (system.version === 2) {
    const mount = v2Mount(system);
    const dir = mount ? dirIn(mount, path) : undefined;
    return { version: 2, memory: dir, cpu: dir, pids: dir };
  }
  return {
    version: 1,
    memory: v1Dir(system, 'memory', path),
    cpu: v1Dir(system, 'cpuacct', path),
    pids: v1Dir(system, 'pids', path),
  };
}
