import { test } from 'vitest';
import { agent } from '@berth/api';
import { startNats } from '@berth/testkit';
import { call, clientsFor, json, overlayMounts, startAgentInProcess } from './helpers/agent.js';
import { createSuite, destroySuite, eventually } from './helpers/suite.js';
test('dbg', async () => {
  const suite = createSuite('dbg', { stateDir: 'agent' });
  const nats = await startNats();
  const { service, logs } = await startAgentInProcess({ suite, natsUrl: nats.url, node: 'dbg' });
  const c = clientsFor(suite);
  try {
    const id = suite.id('x');
    await call((cb) => c.runtime.createTask({ containerId: id, specJson: json(suite.spec(id, { args: ['sleep', '1000'] })), rootfsMounts: overlayMounts(suite, id), stdio: undefined }, cb));
    await call((cb) => c.runtime.startTask({ containerId: id, execId: '' }, cb));
    const proc = { ...suite.spec(id, { args: ['cat'] }).process, args: ['cat'] };
    await call((cb) => c.runtime.execProcess({ containerId: id, execId: 'cat', processJson: json(proc), stdio: { terminal: false, stdin: true, logPath: '', logMaxBytes: 0, logMaxFiles: 0 } }, cb));
    console.log('exec created');
    const stream = c.runtime.attachTask();
    let out = '';
    stream.on('data', (m: agent.AttachTaskResponse) => { console.log('FRAME', JSON.stringify(m.frame)); if (m.frame?.$case === 'stdout') out += m.frame.value.toString(); });
    stream.on('error', (e) => console.log('ERR', e.message));
    stream.on('end', () => console.log('END'));
    stream.write({ frame: { $case: 'target', value: { containerId: id, execId: 'cat', stdin: true, stdout: true, stderr: true } } });
    await new Promise((r) => setTimeout(r, 300));
    console.log('starting');
    const r = await call<agent.StartTaskResponse>((cb) => c.runtime.startTask({ containerId: id, execId: 'cat' }, cb));
    console.log('started', r);
    stream.write({ frame: { $case: 'stdin', value: Buffer.from('ping\n') } });
    await eventually(() => out.includes('ping') ? true : undefined, 'echo', 5000).catch((e) => console.log(String(e)));
    stream.end();
    await new Promise((r) => setTimeout(r, 2000));
  } finally {
    console.log(logs.lines.join('\n'));
    c.close(); await service.stop(); await destroySuite(suite); await nats.stop();
  }
});
