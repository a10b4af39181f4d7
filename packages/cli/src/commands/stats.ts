// `stats`: live resource usage of running containers.
import { totalmem } from 'node:os';
import * as tasks from '@berth/api/tasks';
import type * as types from '@berth/api/types';
import { withSession, type Session } from '../client/session.js';
import { STATS_COLUMNS, statsObject, statsRow } from '../format/stats.js';
import { renderList, type Format } from '../output.js';
import type { GlobalOptions } from '../stack-options.js';
import { noSuchContainer } from './containers.js';

const INTERVAL_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sample(s: Session, refs: string[]): Promise<types.TaskStats[]> {
  try {
    return (await s.unary(s.api(tasks.TasksClient), 'getTaskStats', { containerIds: refs })).stats;
  } catch (err) {
    throw refs.length === 1 ? noSuchContainer(err, refs[0]!) : err;
  }
}

export async function stats(g: GlobalOptions, refs: string[], o: { noStream?: boolean }, format: Format): Promise<number> {
  return withSession(g, async (s) => {
    const names = new Map(
      (await s.unary(s.api(tasks.ContainersClient), 'listContainers', { filters: [] })).containers.map((c) => [c.id, c.name] as const),
    );
    const host = totalmem();
    const tty = g.io.stdout.isTTY === true && !o.noStream;
    let prev = new Map<string, types.TaskStats>();
    // the first sample only gives CPU % a starting point
    for (const st of await sample(s, refs)) prev.set(st.containerId, st);
    for (;;) {
      await sleep(o.noStream ? INTERVAL_MS / 2 : INTERVAL_MS);
      const cur = await sample(s, refs);
      const rows = cur.map((st) => statsRow(prev.get(st.containerId), st, names.get(st.containerId) ?? '', host));
      const text = renderList(rows, { format, columns: STATS_COLUMNS, json: statsObject });
      g.io.stdout.write(tty ? `\x1b[2J\x1b[H${text}` : text);
      if (o.noStream) return 0;
      prev = new Map(cur.map((st) => [st.containerId, st]));
    }
  });
}
