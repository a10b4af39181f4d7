// What the numbers were measured on: the report is meaningless without it.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { runCommand } from './exec.js';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  os: string;
  versions: {
    node: string;
    containerd: string;
    ctr: string;
    runc: string;
    conmon: string;
    natsServer: string;
    berth: string;
  };
  date: string;
  /** The berth checkout measured: `git describe --always --dirty` of the repository, when it is one. */
  gitCommit?: string;
  /** 1, 5 and 15 minute load averages before and after the run (others may share the machine). */
  loadAverage: { start: number[]; end: number[] };
}

/** The first "model name" of /proc/cpuinfo. Pure. */
export function parseCpuModel(cpuinfo: string): string {
  const m = /^model name\s*:\s*(.+)$/m.exec(cpuinfo);
  return m ? (m[1] as string).trim() : 'unknown';
}

/** PRETTY_NAME of /etc/os-release. Pure. */
export function parseOsRelease(text: string): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
  return m ? (m[1] as string) : 'unknown';
}

/**
 * The version in a tool's --version output: `containerd github.com/… 1.6.20~ds1 …`,
 * `runc version 1.1.5+ds1`, `nats-server: v2.9.10`, `conmon version 2.1.6`. Pure.
 */
export function parseToolVersion(output: string): string {
  const first = output.split('\n')[0] ?? '';
  const m = /\bv?(\d+\.\d+(?:\.\d+)?[^\s]*)/.exec(first);
  return m ? (m[1] as string) : first.trim() || 'unknown';
}

async function toolVersion(binary: string, args = ['--version'], env?: NodeJS.ProcessEnv): Promise<string> {
  try {
    const r = await runCommand({ file: binary, args, ...(env ? { env } : {}) }, 10_000);
    return parseToolVersion(r.stdout.toString() || r.stderr);
  } catch (err) {
    return `unavailable (${(err as Error).message.split('\n')[0]})`;
  }
}

const readOr = (path: string, fallback: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
};

async function gitCommitOf(dir: string): Promise<string | undefined> {
  try {
    return (await runCommand({ file: 'git', args: ['-C', dir, 'describe', '--always', '--dirty'] }, 10_000)).stdout.toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function collectMachineInfo(berthCli: { file: string; args: string[] }): Promise<MachineInfo> {
  const [gitCommit, containerd, ctr, runc, conmon, natsServer, berth] = await Promise.all([
    gitCommitOf(dirname(berthCli.args[0] ?? berthCli.file)),
    toolVersion('containerd'),
    toolVersion('ctr'),
    toolVersion('runc'),
    toolVersion('conmon'),
    toolVersion('nats-server'),
    // this build's own CLI, not a CLI host that may serve /run/berth from another
    toolVersion(berthCli.file, [...berthCli.args, '--version'], { ...process.env, BERTH_CLI_HOST: '0' }),
  ]);
  return {
    cpuModel: parseCpuModel(readOr('/proc/cpuinfo', '')),
    cores: cpus().length,
    memoryBytes: totalmem(),
    kernel: release(),
    os: parseOsRelease(readOr('/etc/os-release', '')),
    versions: { node: process.version, containerd, ctr, runc, conmon, natsServer, berth },
    date: new Date().toISOString(),
    ...(gitCommit ? { gitCommit } : {}),
    loadAverage: { start: loadavg(), end: loadavg() },
  };
}
