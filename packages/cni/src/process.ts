// Host tools and CNI plugins, run through @berth/process (off the event loop).
import { runProcess, type ProcessOutput } from '@berth/process';

export { runProcess, type ProcessOutput, type RunOptions } from '@berth/process';

/** Runs a host tool (ip, iptables) and throws a clear error naming the command when it fails. */
export async function runTool(file: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  let res: ProcessOutput;
  try {
    res = await runProcess(file, args, { timeoutMs });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${file} is not installed (needed for: ${file} ${args.join(' ')})`);
    throw new Error(`could not run ${file} ${args.join(' ')}: ${(e as Error).message}`);
  }
  if (res.timedOut) throw new Error(`${file} ${args.join(' ')} timed out after ${timeoutMs} ms`);
  if (res.code !== 0) {
    const why = res.stderr.trim() || res.stdout.trim() || `exit ${res.code ?? res.signal}`;
    throw new Error(`${file} ${args.join(' ')} failed: ${why}`);
  }
  return res.stdout;
}
