// Helpers for tests that build networks on this host: subnets that cannot
// clash with its routes, TCP servers inside a netns, iptables inspection.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { uniqueName } from './names.js';

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function overlaps(a: string, b: string): boolean {
  const [ia, pa] = a.split('/') as [string, string | undefined];
  const [ib, pb] = b.split('/') as [string, string | undefined];
  const la = Number(pa ?? 32);
  const lb = Number(pb ?? 32);
  const l = Math.min(la, lb);
  const mask = l === 0 ? 0 : (0xffffffff << (32 - l)) >>> 0;
  return ((ipv4ToInt(ia) & mask) >>> 0) === ((ipv4ToInt(ib) & mask) >>> 0);
}

/** Every IPv4 prefix the host uses: routes (all tables) and addresses. */
function hostPrefixes(): string[] {
  const routes = JSON.parse(execFileSync('ip', ['-j', '-4', 'route', 'show', 'table', 'all']).toString()) as { dst: string }[];
  const addrs = JSON.parse(execFileSync('ip', ['-j', '-4', 'addr']).toString()) as {
    addr_info: { local: string; prefixlen: number }[];
  }[];
  const out = routes.map((r) => r.dst).filter((d) => d !== 'default' && /^\d+\.\d+\.\d+\.\d+/.test(d));
  for (const a of addrs) for (const i of a.addr_info) out.push(`${i.local}/${i.prefixlen}`);
  return out;
}

/** A random 10.2xx.y.0/24 that overlaps no route or address of this host. */
export function pickTestSubnet(): string {
  const used = hostPrefixes();
  for (let i = 0; i < 200; i++) {
    const b = 200 + (randomBytes(1)[0]! % 55);
    const c = randomBytes(1)[0]!;
    const cand = `10.${b}.${c}.0/24`;
    if (!used.some((u) => overlaps(u, cand))) return cand;
  }
  throw new Error('no free 10.2xx.y.0/24 test subnet found');
}

/** A TCP server inside a netns answering every connection with `reply`. */
export async function startNetnsServer(netns: string, port: number, reply: string): Promise<ChildProcess> {
  const script = `require('net').createServer((s) => s.end(${JSON.stringify(reply)})).listen(${port}, '0.0.0.0', () => console.log('ready'))`;
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`server in netns ${netns} exited (${code}): ${err}`)));
  });
  return child;
}

/** Connects, reads until the peer closes. */
export function tcpRead(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('data', (b) => (data += b.toString()));
    sock.on('end', () => {
      clearTimeout(timer);
      resolve(data);
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}


export function iptablesSave(): string {
  return execFileSync('iptables-save').toString();
}

/** Lines of iptables-save that mention any of the needles. */
export function iptablesLinesMentioning(...needles: string[]): string[] {
  return iptablesSave()
    .split('\n')
    .filter((l) => needles.some((n) => l.includes(n)));
}

/** Removes iptables rules mentioning a needle (last-resort cleanup after a failed test). */
export function purgeIptablesRules(needle: string): void {
  for (const table of ['nat', 'filter', 'mangle']) {
    let dump: string;
    try {
      dump = execFileSync('iptables-save', ['-t', table]).toString();
    } catch {
      continue;
    }
    for (const line of dump.split('\n')) {
      if (!line.startsWith('-A ') || !line.includes(needle)) continue;
      // iptables-restore reads the saved line back with its own quoting rules
      // (CNI's comments hold escaped quotes no naive split gets right).
      try {
        execFileSync('iptables-restore', ['-n', '-w'], { input: `*${table}\n-D ${line.slice(3)}\nCOMMIT\n`, stdio: ['pipe', 'ignore', 'ignore'] });
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Runs a command inside a netns, capturing output (never rejects on a
 * non-zero exit). Asynchronous on purpose: the DNS server under test lives
 * in this process and must keep answering while the command runs.
 */
export function inNetns(netns: string, cmd: string[], timeoutMs = 15_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', netns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/**
 * A suite's own default network and netns names, so that nothing it makes
 * clashes with another suite's stack (whose networking reconcile would take
 * netns of its prefix for its own leftovers) or the host's berth. For every
 * test or tool that starts a whole stack (systemUp).
 */
export interface PrivateNetwork {
  /** Service settings for the stack's environment. */
  env: NodeJS.ProcessEnv;
  /** Removes the bridge and iptables rules the stack may have left; never throws. */
  cleanup(): void;
}

export function privateNetwork(tag: string): PrivateNetwork {
  const bridge = uniqueName(tag);
  const subnet = pickTestSubnet();
  const netnsPrefix = `${uniqueName(`${tag}ns`, 20)}-`;
  return {
    env: { BERTH_DEFAULT_NETWORK_BRIDGE: bridge, BERTH_DEFAULT_NETWORK_SUBNET: subnet, BERTH_NETNS_PREFIX: netnsPrefix },
    cleanup: () => {
      try {
        execFileSync('ip', ['link', 'delete', bridge], { stdio: 'ignore' });
      } catch {
        // never created, or already gone
      }
      purgeIptablesRules(bridge);
      purgeIptablesRules(subnet.split('.').slice(0, 3).join('.') + '.');
    },
  };
}
