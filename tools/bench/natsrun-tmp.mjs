import { connect, StringCodec } from 'nats';
const nc = await connect({ servers: '127.0.0.1:14999' });
const sc = StringCodec();
const ts = [];
for (let i = 0; i < 20; i++) {
  let done;
  const p = new Promise((r) => (done = r));
  const sub = nc.subscribe('berth.default.events.containers.deleted', { callback: () => done() });
  await nc.flush();
  const t0 = performance.now();
  await nc.request('berth.rpc.tasks.containers.run', sc.encode(JSON.stringify({ namespace: 'default', spec: { image: 'busybox', cmd: { args: ['echo', 'hello'] }, networks: [{ network: 'none' }], autoRemove: true } })), { timeout: 10000 });
  await p;
  ts.push(performance.now() - t0);
  sub.unsubscribe();
  await new Promise((r) => setTimeout(r, 50));
}
ts.sort((a, b) => a - b); console.log('nats run median', ts[10].toFixed(1), 'min', ts[0].toFixed(1));
await nc.close();
