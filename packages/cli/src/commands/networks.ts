// `network create|ls|inspect|rm|connect|disconnect|prune` over the networking
// service (definitions) and the tasks service (a container's networks).
import * as networking from '@berth/api/networking';
import * as tasks from '@berth/api/tasks';
import { dateFromTimestamp } from '@berth/api/timestamps';
import { Code, hasCode } from '../client/errors.js';
import { withSession, type Session } from '../client/session.js';
import { jsonView } from '../format/json-view.js';
import { shortId } from '../format/units.js';
import { BerthError, inspectEach, printInspected, printList, type Format } from '../output.js';
import { labelsFrom } from '../parse/env.js';
import type { GlobalOptions } from '../stack-options.js';
import { confirm } from '../stdio/confirm.js';
import { noSuchContainer } from './containers.js';

export interface NetworkCreateOptions {
  driver?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  label: string[];
  opt: string[];
}

function noSuchNetwork(err: unknown, name: string): unknown {
  return hasCode(err, Code.NOT_FOUND) ? new BerthError(`No such network: ${name}`, 125, { cause: err }) : err;
}

export async function create(g: GlobalOptions, name: string, o: NetworkCreateOptions): Promise<number> {
  const request = networking.CreateNetworkRequest.fromPartial({
    name,
    driver: o.driver ?? '',
    subnet: o.subnet ?? '',
    gateway: o.gateway ?? '',
    ipRange: o.ipRange ?? '',
    internal: o.internal === true,
    labels: labelsFrom(o.label),
    options: labelsFrom(o.opt, 'driver option'),
  });
  return withSession(g, async (s) => {
    try {
      const created = (await s.unary(s.api(networking.NetworksClient), 'createNetwork', request)).network;
      g.io.stdout.write(`${created?.id ?? name}\n`);
    } catch (err) {
      if (hasCode(err, Code.ALREADY_EXISTS)) throw new BerthError(`network with name ${name} already exists (${err.message})`, 125, { cause: err });
      throw err;
    }
    return 0;
  });
}

export const networkObject = (n: networking.Network) => ({
  ID: n.id,
  Name: n.name,
  Driver: n.driver,
  Scope: 'local',
  Subnet: n.subnet,
  Gateway: n.gateway,
  IPRange: n.ipRange,
  Internal: n.internal,
  Builtin: n.builtin,
  Interface: n.interfaceName,
  CreatedAt: n.createdAt ? dateFromTimestamp(n.createdAt).toISOString() : null,
  Labels: n.labels,
});

export const NETWORK_FILTER_KEYS = ['name', 'id', 'driver', 'label', 'type'] as const;

export async function list(g: GlobalOptions, o: { quiet?: boolean; noTrunc?: boolean; filter: string[] }, format: Format): Promise<number> {
  return withSession(g, async (s) => {
    const networks = (await s.unary(s.api(networking.NetworksClient), 'listNetworks', { filters: o.filter })).networks;
    const id = (n: networking.Network) => (o.noTrunc ? n.id : shortId(n.id));
    printList(g.io, networks, {
      format,
      columns: [
        { header: 'NETWORK ID', cell: id },
        { header: 'NAME', cell: (n) => n.name },
        { header: 'DRIVER', cell: (n) => n.driver },
        { header: 'SUBNET', cell: (n) => n.subnet },
        { header: 'SCOPE', cell: () => 'local' },
      ],
      json: networkObject,
      quiet: o.quiet ? id : undefined,
    });
    return 0;
  });
}

export async function inspectOne(s: Session, name: string): Promise<unknown> {
  try {
    const r = await s.unary(s.api(networking.NetworksClient), 'getNetwork', { name });
    if (!r.network) throw new BerthError(`No such network: ${name}`);
    return { ...(jsonView(networking.Network, r.network) as object), members: r.members.map((m) => networking.NetworkMember.toJSON(m)) };
  } catch (err) {
    throw noSuchNetwork(err, name);
  }
}

export async function inspect(g: GlobalOptions, names: string[], format: Format): Promise<number> {
  return withSession(g, async (s) => printInspected(g.io, await inspectEach(names, 'No such network', (name) => inspectOne(s, name)), format));
}

export async function remove(g: GlobalOptions, names: string[]): Promise<number> {
  return withSession(g, async (s) => {
    let failed = false;
    for (const name of names) {
      try {
        await s.unary(s.api(networking.NetworksClient), 'removeNetwork', { name });
        g.io.stdout.write(`${name}\n`);
      } catch (err) {
        failed = true;
        g.io.stderr.write(`berth: ${(noSuchNetwork(err, name) as Error).message}\n`);
        if ((err as Error).message.includes('berth system up')) break;
      }
    }
    return failed ? 125 : 0;
  });
}

export async function connect(g: GlobalOptions, network: string, container: string, o: { alias: string[]; ip?: string }): Promise<number> {
  return withSession(g, async (s) => {
    try {
      await s.unary(s.api(tasks.ContainersClient), 'connectNetwork', {
        containerId: container,
        endpoint: { network, aliases: o.alias, ipAddress: o.ip ?? '' },
      });
    } catch (err) {
      throw noSuchContainer(err, container);
    }
    return 0;
  });
}

export async function disconnect(g: GlobalOptions, network: string, container: string, o: { force?: boolean }): Promise<number> {
  return withSession(g, async (s) => {
    try {
      await s.unary(s.api(tasks.ContainersClient), 'disconnectNetwork', { containerId: container, network, force: o.force === true });
    } catch (err) {
      throw noSuchContainer(err, container);
    }
    return 0;
  });
}

export async function prune(g: GlobalOptions, o: { force?: boolean; filter: string[] }): Promise<number> {
  if (!o.force && !(await confirm(g.io, 'WARNING! This will remove all custom networks not used by at least one container.'))) return 0;
  return withSession(g, async (s) => {
    const removed = (await s.unary(s.api(networking.NetworksClient), 'pruneNetworks', { filters: o.filter })).removed;
    if (removed.length > 0) g.io.stdout.write(`Deleted Networks:\n${removed.map((n) => `${n}\n`).join('')}`);
    return 0;
  });
}
