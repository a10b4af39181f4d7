// Docker's "Are you sure you want to continue? [y/N]" before destructive prunes.
import { createInterface } from 'node:readline';
import type { CliIo } from './io.js';

/** Asks on stderr and reads one line from stdin; anything but y/yes (or no input at all) is a no. */
export async function confirm(io: CliIo, warning: string): Promise<boolean> {
  io.stderr.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const rl = createInterface({ input: io.stdin, terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
