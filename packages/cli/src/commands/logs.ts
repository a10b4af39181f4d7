// `logs`: a container's persisted output, optionally followed.
import * as tasks from '@berth/api/tasks';
import { withSession } from '../client/session.js';
import { LogPrinter } from '../format/logs.js';
import { parseTail } from '../parse/size.js';
import { parseTimePoint } from '../parse/time.js';
import type { GlobalOptions } from '../stack-options.js';
import { written } from '../stdio/io.js';
import { noSuchContainer } from './containers.js';

export interface LogsOptions {
  follow?: boolean;
  tail?: string;
  since?: string;
  until?: string;
  timestamps?: boolean;
}

export async function logs(g: GlobalOptions, ref: string, o: LogsOptions): Promise<number> {
  const now = new Date();
  const tail = parseTail(o.tail);
  const request = tasks.ReadLogsRequest.fromPartial({
    containerId: ref,
    ...(tail !== undefined ? { tail } : {}),
    ...(o.since !== undefined ? { since: parseTimePoint(o.since, now) } : {}),
    ...(o.until !== undefined ? { until: parseTimePoint(o.until, now) } : {}),
    follow: o.follow === true,
  });
  return withSession(g, async (s) => {
    const printer = new LogPrinter(o.timestamps === true);
    const call = s.api(tasks.TasksClient).readLogs(request, s.metadata());
    try {
      for await (const batch of s.messages<tasks.ReadLogsResponse>(s.api(tasks.TasksClient), 'ReadLogs', call)) {
        for (const e of batch.entries) {
          const chunk = printer.chunk({
            stream: e.stream === tasks.LogStream.STDERR ? 'stderr' : 'stdout',
            time: e.time,
            data: e.data,
            partial: e.partial,
          });
          await written(chunk.stream === 'stderr' ? g.io.stderr : g.io.stdout, chunk.data);
        }
      }
    } catch (err) {
      throw noSuchContainer(err, ref);
    }
    return 0;
  });
}
