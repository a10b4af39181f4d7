// berth-health: the container health probe of a berth service image. One
// grpc.health.v1 Check on the service's unix socket; exit 0 when SERVING,
// 1 otherwise, with one line saying what was found. Self-contained (only
// @grpc/grpc-js and grpc-health-check, which every service bundles) so it
// starts fast enough to run every few seconds.
//
//   berth-health.mjs SERVICE [--socket PATH] [--timeout-ms N]
//
// The socket is --socket, else $BERTH_GRPC_SOCKET, else
// ${BERTH_RUNTIME_DIR:-/run/berth}/SERVICE.sock: the same rule as the
// service kit's servicePaths().
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface ProbeTarget {
  service: string;
  socket: string;
  timeoutMs: number;
}

/** Where to probe, from the arguments and the service's BERTH_* environment. */
export function probeTarget(argv: readonly string[], env: NodeJS.ProcessEnv): ProbeTarget {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { socket: { type: 'string' }, 'timeout-ms': { type: 'string' } },
  });
  const service = positionals[0];
  if (!service || positionals.length > 1) throw new Error('usage: berth-health SERVICE [--socket PATH] [--timeout-ms N]');
  const timeoutMs = Number(values['timeout-ms'] ?? '2000');
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new Error(`--timeout-ms ${values['timeout-ms']}: expected a positive integer`);
  const socket = values.socket ?? env['BERTH_GRPC_SOCKET'] ?? join(env['BERTH_RUNTIME_DIR'] || '/run/berth', `${service}.sock`);
  return { service, socket, timeoutMs };
}

const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** The overall health status ('' service) of the server on `socket`, or why it could not be asked. */
export function checkSocket(target: ProbeTarget): Promise<{ serving: boolean; detail: string }> {
  const Client = grpc.makeClientConstructor(healthService as grpc.ServiceDefinition, 'grpc.health.v1.Health');
  const client = new Client(`unix:${target.socket}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    check(req: { service: string }, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { status: string | number }) => void): void;
  };
  return new Promise((resolve) => {
    client.check({ service: '' }, { deadline: Date.now() + target.timeoutMs }, (err, res) => {
      client.close();
      if (err) return resolve({ serving: false, detail: `${target.socket}: ${err.details || err.message}` });
      const status = typeof res?.status === 'number' ? (STATUS[res.status] ?? String(res.status)) : String(res?.status);
      resolve({ serving: status === 'SERVING', detail: `${target.service} ${status}` });
    });
  });
}

async function main(): Promise<number> {
  let target: ProbeTarget;
  try {
    target = probeTarget(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`berth-health: ${(err as Error).message}\n`);
    return 2;
  }
  const { serving, detail } = await checkSocket(target);
  (serving ? process.stdout : process.stderr).write(`berth-health: ${detail}\n`);
  return serving ? 0 : 1;
}

// Run only as a program, not when imported (tests import probeTarget).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main().then((code) => process.exit(code));
}
