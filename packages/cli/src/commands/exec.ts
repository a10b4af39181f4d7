// `exec`: another process in a running container, attached like `run`.
import { pathOf, type CliIo } from '../stdio/io.js';
import { readFileSync } from 'node:fs';
import * as tasks from '@berth/api/tasks';
import { withSession } from '../client/session.js';
import { startFailureCode } from '../exit-codes.js';
import { BerthError, UsageError } from '../output.js';
import { parseEnvFile, parseEnvValue } from '../parse/env.js';
import type { GlobalOptions } from '../stack-options.js';
import { attachThenStart } from '../stdio/attach.js';
import { noSuchContainer } from './containers.js';

export interface ExecOptions {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  env: string[];
  envFile: string[];
  workdir?: string;
  user?: string;
  privileged?: boolean;
}

function execEnv(io: CliIo, o: ExecOptions): string[] {
  const env: string[] = [];
  for (const file of o.envFile) {
    let text: string;
    try {
      text = readFileSync(pathOf(io, file), 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --env-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    env.push(...parseEnvFile(text, file, io.env));
  }
  for (const e of o.env) {
    const v = parseEnvValue(e, io.env);
    if (v !== undefined) env.push(v);
  }
  return env;
}

export async function exec(g: GlobalOptions, ref: string, command: string[], o: ExecOptions): Promise<number> {
  if (command.length === 0) throw new UsageError('exec needs a command to run in the container');
  const processOptions = {
    args: command,
    env: execEnv(g.io, o),
    workingDir: o.workdir ?? '',
    user: o.user ?? '',
    tty: o.tty === true,
    openStdin: o.interactive === true,
    privileged: o.privileged === true,
  };
  return withSession(g, async (s) => {
    let execId: string;
    try {
      execId = (await s.unary(s.api(tasks.TasksClient), 'execProcess', { containerId: ref, execId: '', process: processOptions })).execId;
    } catch (err) {
      throw noSuchContainer(err, ref);
    }
    const startExec = async () => {
      await s.unary(s.api(tasks.TasksClient), 'startTask', { containerId: ref, execId });
    };
    try {
      if (o.detach) {
        await startExec();
        return 0;
      }
      const exit = await attachThenStart(
        s,
        { containerId: ref, execId, stdin: o.interactive === true, tty: o.tty === true, sigProxy: true },
        startExec,
      );
      return exit.exitCode;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new BerthError(message, startFailureCode(message), { cause: err });
    }
  });
}
