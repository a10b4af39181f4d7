import { connect, StringCodec } from 'nats';
import { spawnSync } from 'node:child_process';
const nc = await connect({ servers: '127.0.0.1:14999' });
const sc = StringCodec();
const a = [], b = [];
const N = Number(process.argv[2] ?? 20);
for (let i = 0; i < N; i++) {
  let done;
  const p = new Promise((r) => (done = r));
  const sub = nc.subscribe('berth.default.events.containers.deleted', { callback: () => done() });
  await nc.flush();
  let t0 = performance.now();
  await nc.request('berth.rpc.tasks.containers.run', sc.encode(JSON.stringify({ namespace: 'default', spec: { image: 'busybox', cmd: { args: ['echo', 'hello'] }, networks: [{ network: 'none' }], autoRemove: true } })), { timeout: 10000 });
  await p;
  a.push(performance.now() - t0);
  sub.unsubscribe();
  await new Promise((r) => setTimeout(r, 30));
  t0 = performance.now();
  const r = spawnSync('/work/main/packages/cli/bundle/berth', ['run', '--rm', '--network', 'none', 'busybox', 'echo', 'hello'], { stdio: ['ignore', 'pipe', 'inherit'] });
  b.push(performance.now() - t0);
  if (r.status !== 0) console.log('cli failed', r.status);
  await new Promise((r) => setTimeout(r, 30));
}
const med = (x) => x.sort((p, q) => p - q)[x.length >> 1].toFixed(1);
console.log('nats', med(a), 'cli', med(b));
await nc.close();
