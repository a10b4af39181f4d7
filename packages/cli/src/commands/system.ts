import type { ComponentStatus } from '@berth/stack';
import { printJson, renderTable, type Format } from '../output.js';
import { stackOptions, type GlobalOptions } from '../stack-options.js';

function printStatus(list: ComponentStatus[], format: Format): void {
  if (format === 'json') return printJson(list);
  process.stdout.write(
    renderTable(
      ['NAME', 'PID', 'HEALTH', 'ADDRESS', 'VERSION'],
      list.map((c) => [c.name, c.pid ? String(c.pid) : '-', c.health, c.address, c.version ?? '-']),
    ),
  );
}

export async function up(g: GlobalOptions, format: Format): Promise<number> {
  const { systemUp } = await import('@berth/stack');
  const o = await stackOptions(g);
  const quiet = format === 'json';
  const list = await systemUp(o, (e) => {
    if (!quiet) process.stderr.write(`${e.name}: ${e.action}\n`);
  });
  printStatus(list, format);
  return list.every((c) => c.health === 'SERVING' || c.health === 'EXTERNAL') ? 0 : 1;
}

export async function status(g: GlobalOptions, format: Format): Promise<number> {
  const { systemStatus } = await import('@berth/stack');
  const list = await systemStatus(await stackOptions(g));
  printStatus(list, format);
  return list.every((c) => c.health === 'SERVING' || c.health === 'EXTERNAL') ? 0 : 3;
}

export async function down(g: GlobalOptions): Promise<number> {
  const { systemDown } = await import('@berth/stack');
  await systemDown(await stackOptions(g), (name, how) => process.stderr.write(`${name}: ${how}\n`));
  return 0;
}
