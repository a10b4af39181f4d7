import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { CniInvocationError, CniPluginError, type InvocationContext } from './errors.js';
import { runProcess, type ProcessOutput } from './process.js';
import type { CniCommand, ResolvedCniConfig } from './types.js';

/** Everything one plugin invocation needs (CNI spec section "Parameters"). */
export interface PluginInvocation {
  command: CniCommand;
  plugin: string;
  network: string;
  containerId: string;
  /** Netns path; empty for a DEL whose namespace is already gone. */
  netns: string;
  ifname: string;
  args: Record<string, string>;
  stdin: Record<string, unknown>;
}

const SYSTEM_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Finds a plugin binary in the configured directories, first match wins. */
export async function findPlugin(type: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    const candidate = join(dir, type);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** CNI_ARGS wire form: K=V pairs joined by ';'. */
export function formatCniArgs(args: Record<string, string>): string {
  const entries = Object.entries(args);
  if (entries.length === 0) return '';
  if (!('IgnoreUnknown' in args)) entries.unshift(['IgnoreUnknown', '1']);
  for (const [k, v] of entries) {
    if (!/^[A-Za-z0-9_]+$/.test(k) || /[;=]/.test(v)) {
      throw new Error(`invalid CNI_ARGS entry ${JSON.stringify(`${k}=${v}`)}: keys are [A-Za-z0-9_], values contain no ';' or '='`);
    }
  }
  return entries.map(([k, v]) => `${k}=${v}`).join(';');
}

/**
 * The plugin's environment: ours (plugins call iptables and their IPAM through
 * PATH/CNI_PATH) without inherited CNI_* values, plus this invocation's CNI_*.
 */
export function pluginEnv(inv: PluginInvocation, pluginDirs: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CNI_')) env[k] = v;
  const path = (env.PATH ?? '').split(':').filter(Boolean);
  for (const p of SYSTEM_PATH) if (!path.includes(p)) path.push(p);
  env.PATH = path.join(':');
  env.CNI_COMMAND = inv.command;
  env.CNI_CONTAINERID = inv.containerId;
  env.CNI_NETNS = inv.netns;
  env.CNI_IFNAME = inv.ifname;
  env.CNI_ARGS = formatCniArgs(inv.args);
  env.CNI_PATH = pluginDirs.join(':');
  return env;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function failure(ctx: InvocationContext, out: ProcessOutput, timeoutMs: number): Error {
  if (out.timedOut) return new CniInvocationError(ctx, 'timeout', `timed out after ${timeoutMs} ms and was killed`, out.stderr);
  const err = parseJsonObject(out.stdout.trim());
  if (err && typeof err.code === 'number' && typeof err.msg === 'string') {
    const details = typeof err.details === 'string' && err.details !== '' ? err.details : undefined;
    return new CniPluginError(ctx, { code: err.code, msg: err.msg, details }, out.code, out.stderr);
  }
  const how = out.code === null ? `was killed by ${out.signal}` : `exited with code ${out.code}`;
  const said = out.stdout.trim() ? `; stdout: ${out.stdout.trim()}` : '';
  return new CniInvocationError(ctx, 'crashed', `${how} without a CNI error result${said}`, out.stderr);
}

/**
 * Runs one plugin binary. Resolves with its parsed stdout for ADD/VERSION and
 * undefined for DEL/CHECK; rejects with CniPluginError when the plugin
 * reports an error and CniInvocationError when it cannot be run or misbehaves.
 */
export async function invokePlugin(
  inv: PluginInvocation,
  cfg: ResolvedCniConfig,
): Promise<Record<string, unknown> | undefined> {
  const ctx: InvocationContext = {
    plugin: inv.plugin,
    command: inv.command,
    network: inv.network,
    containerId: inv.containerId,
    ifname: inv.ifname,
  };
  const binary = await findPlugin(inv.plugin, cfg.pluginDirs);
  if (!binary) {
    throw new CniInvocationError(ctx, 'not-found', `plugin binary "${inv.plugin}" not found in ${cfg.pluginDirs.join(', ')}`);
  }
  let out: ProcessOutput;
  try {
    out = await runProcess(binary, [], {
      input: JSON.stringify(inv.stdin),
      env: pluginEnv(inv, cfg.pluginDirs),
      timeoutMs: cfg.timeoutMs,
    });
  } catch (e) {
    throw new CniInvocationError(ctx, 'spawn', `could not start ${binary}: ${(e as Error).message}`);
  }
  if (out.timedOut || out.code !== 0) throw failure(ctx, out, cfg.timeoutMs);
  if (inv.command === 'DEL' || inv.command === 'CHECK') return undefined;
  const result = parseJsonObject(out.stdout);
  if (!result) {
    throw new CniInvocationError(ctx, 'bad-output', `printed no JSON result: ${JSON.stringify(out.stdout.slice(0, 500))}`, out.stderr);
  }
  return result;
}
