// `volume create|ls|inspect|rm|prune` over the tasks service's Volumes API.
import * as tasks from '@berth/api/tasks';
import { dateFromTimestamp } from '@berth/api/timestamps';
import { Code, hasCode } from '../client/errors.js';
import { withSession, type Session } from '../client/session.js';
import { humanSize } from '../format/units.js';
import { BerthError, inspectEach, printInspected, printList, type Format } from '../output.js';
import { labelsFrom } from '../parse/env.js';
import type { GlobalOptions } from '../stack-options.js';
import { confirm } from '../stdio/confirm.js';

function noSuchVolume(err: unknown, name: string): unknown {
  return hasCode(err, Code.NOT_FOUND) ? new BerthError(`No such volume: ${name}`, 125, { cause: err }) : err;
}

/** A volume as `volume inspect` and `volume ls --format json` print it (Docker's field names). */
export const volumeObject = (v: tasks.Volume) => ({
  Name: v.name,
  Driver: v.driver,
  Mountpoint: v.mountpoint,
  CreatedAt: v.createdAt ? dateFromTimestamp(v.createdAt).toISOString() : null,
  Labels: v.labels,
  Scope: 'local',
  Anonymous: v.anonymous,
  UsedBy: v.usedBy,
  ...(v.size >= 0 ? { UsageData: { Size: v.size, RefCount: v.usedBy.length } } : {}),
});

export async function create(g: GlobalOptions, name: string | undefined, o: { label: string[] }): Promise<number> {
  const request = tasks.CreateVolumeRequest.fromPartial({ name: name ?? '', labels: labelsFrom(o.label) });
  return withSession(g, async (s) => {
    const created = (await s.unary(s.api(tasks.VolumesClient), 'createVolume', request)).volume;
    g.io.stdout.write(`${created?.name ?? name}\n`);
    return 0;
  });
}

export async function list(g: GlobalOptions, o: { quiet?: boolean; filter: string[] }, format: Format): Promise<number> {
  return withSession(g, async (s) => {
    const volumes = (await s.unary(s.api(tasks.VolumesClient), 'listVolumes', { filters: o.filter, withSize: false })).volumes;
    printList(g.io, volumes, {
      format,
      columns: [
        { header: 'DRIVER', cell: (v) => v.driver },
        { header: 'VOLUME NAME', cell: (v) => v.name },
      ],
      json: volumeObject,
      quiet: o.quiet ? (v) => v.name : undefined,
    });
    return 0;
  });
}

async function inspectOne(s: Session, name: string): Promise<unknown> {
  try {
    const r = await s.unary(s.api(tasks.VolumesClient), 'getVolume', { name, withSize: false });
    if (!r.volume) throw new BerthError(`No such volume: ${name}`);
    return volumeObject(r.volume);
  } catch (err) {
    throw noSuchVolume(err, name);
  }
}

export async function inspect(g: GlobalOptions, names: string[], format: Format): Promise<number> {
  return withSession(g, async (s) => printInspected(g.io, await inspectEach(names, 'No such volume', (name) => inspectOne(s, name)), format));
}

export async function remove(g: GlobalOptions, names: string[], o: { force?: boolean }): Promise<number> {
  return withSession(g, async (s) => {
    let failed = false;
    for (const name of names) {
      try {
        await s.unary(s.api(tasks.VolumesClient), 'removeVolume', { name, force: o.force === true });
        g.io.stdout.write(`${name}\n`);
      } catch (err) {
        failed = true;
        g.io.stderr.write(`berth: ${(noSuchVolume(err, name) as Error).message}\n`);
        if ((err as Error).message.includes('berth system up')) break;
      }
    }
    return failed ? 125 : 0;
  });
}

export async function prune(g: GlobalOptions, o: { all?: boolean; force?: boolean; filter: string[] }): Promise<number> {
  const warning = o.all ? 'WARNING! This will remove all local volumes not used by at least one container.' : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
  if (!o.force && !(await confirm(g.io, warning))) return 0;
  return withSession(g, async (s) => {
    const r = await s.unary(s.api(tasks.VolumesClient), 'pruneVolumes', { all: o.all === true, filters: o.filter });
    if (r.removed.length > 0) g.io.stdout.write(`Deleted Volumes:\n${r.removed.map((n) => `${n}\n`).join('')}\n`);
    g.io.stdout.write(`Total reclaimed space: ${humanSize(r.reclaimedBytes)}\n`);
    return 0;
  });
}
