import type { CniCommand } from './types.js';

/** Identifies one plugin invocation in error messages. */
export interface InvocationContext {
  plugin: string;
  command: CniCommand;
  network: string;
  containerId: string;
  ifname: string;
}

function where(ctx: InvocationContext): string {
  return `CNI ${ctx.command} of plugin "${ctx.plugin}" (network "${ctx.network}", container ${ctx.containerId}, ${ctx.ifname})`;
}

/** A plugin ran and reported a CNI error (spec "Error" result: code, msg, details). */
export class CniPluginError extends Error {
  readonly plugin: string;
  readonly command: CniCommand;
  readonly network: string;
  readonly containerId: string;
  readonly ifname: string;
  /** CNI error code (1..99 well-known, 100+ plugin-specific). */
  readonly code: number;
  readonly msg: string;
  readonly details: string | undefined;
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(
    ctx: InvocationContext,
    err: { code: number; msg: string; details?: string | undefined },
    exitCode: number | null,
    stderr: string,
  ) {
    const detail = err.details ? ` (${err.details})` : '';
    super(`${where(ctx)} failed with code ${err.code}: ${err.msg}${detail}`);
    this.name = 'CniPluginError';
    this.plugin = ctx.plugin;
    this.command = ctx.command;
    this.network = ctx.network;
    this.containerId = ctx.containerId;
    this.ifname = ctx.ifname;
    this.code = err.code;
    this.msg = err.msg;
    this.details = err.details;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export type InvocationFailure = 'not-found' | 'spawn' | 'timeout' | 'bad-output' | 'crashed';

/** A plugin could not be run, timed out, crashed, or printed something that is not CNI. */
export class CniInvocationError extends Error {
  readonly plugin: string;
  readonly command: CniCommand;
  readonly network: string;
  readonly reason: InvocationFailure;
  readonly stderr: string;

  constructor(ctx: InvocationContext, reason: InvocationFailure, detail: string, stderr = '') {
    super(`${where(ctx)}: ${detail}${stderr.trim() ? `; stderr: ${stderr.trim()}` : ''}`);
    this.name = 'CniInvocationError';
    this.plugin = ctx.plugin;
    this.command = ctx.command;
    this.network = ctx.network;
    this.reason = reason;
    this.stderr = stderr;
  }
}

/** DEL ran every plugin but some failed; the cached result is kept so DEL can be retried. */
export class CniDelError extends Error {
  readonly errors: Error[];
  constructor(network: string, containerId: string, errors: Error[]) {
    super(
      `CNI DEL of network "${network}" for container ${containerId} failed in ${errors.length} plugin(s): ` +
        errors.map((e) => e.message).join('; '),
    );
    this.name = 'CniDelError';
    this.errors = errors;
  }
}

/** A node resource berth was asked to remove is not what it should be (a NIC named like a bridge, a foreign directory); nothing was removed. */
export class ForeignResourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForeignResourceError';
  }
}
