// `ps` / `container ls`: containers as Docker lists them.
import * as tasks from '@berth/api/tasks';
import { withSession } from '../client/session.js';
import { containerState, psColumns, psObject } from '../format/containers.js';
import { printList, type Format } from '../output.js';
import { parseFilters, psFilters, PS_FILTER_KEYS } from '../parse/filters.js';
import type { GlobalOptions } from '../stack-options.js';

export interface PsOptions {
  all?: boolean;
  quiet?: boolean;
  noTrunc?: boolean;
  latest?: boolean;
  last?: number;
  filter: string[];
}

const LIVE = new Set(['running', 'paused', 'restarting']);

export async function ps(g: GlobalOptions, o: PsOptions, format: Format): Promise<number> {
  const filters = parseFilters(o.filter, PS_FILTER_KEYS);
  const { service, exitCodes } = psFilters(filters);
  const byStatus = filters.some((f) => f.key === 'status');
  return withSession(g, async (s) => {
    const all = (await s.unary(s.api(tasks.ContainersClient), 'listContainers', { filters: service })).containers;
    let shown = all.filter(
      (c) =>
        (o.all || byStatus || o.latest || o.last !== undefined || LIVE.has(containerState(c))) &&
        (exitCodes.length === 0 ||
          (containerState(c) === 'exited' && exitCodes.includes(c.status?.exitStatus?.exitCode ?? Number.NaN))),
    );
    // newest first, as the service lists them
    if (o.latest) shown = shown.slice(0, 1);
    else if (o.last !== undefined && o.last >= 0) shown = shown.slice(0, o.last);
    const now = new Date();
    printList(g.io, shown, {
      format,
      columns: psColumns({ noTrunc: o.noTrunc === true }, now),
      json: (c) => psObject(c, now),
      quiet: o.quiet ? (c) => (o.noTrunc ? c.id : c.id.slice(0, 12)) : undefined,
    });
    return 0;
  });
}
