// The embedded DNS server on 127.0.0.1 (a free port), with a stand-in
// upstream resolver on 127.0.0.1 that records what reaches it.
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EmbeddedDnsServer,
  RCode,
  RRType,
  addressRecord,
  buildQuery,
  encodeMessage,
  parseMessage,
  recordAddress,
  type DnsMessage,
} from '../src/index.js';

let server: EmbeddedDnsServer;
let silentServer: EmbeddedDnsServer;
let upstream: dgram.Socket;
let upstreamPort: number;
let silent: dgram.Socket;
const upstreamSaw: string[] = [];
let allow = true;

function ask(port: number, query: Buffer, timeoutMs = 5000): Promise<DnsMessage> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('no DNS answer'));
    }, timeoutMs);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(parseMessage(msg));
    });
    sock.send(query, port, '127.0.0.1');
  });
}

function bindUdp(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  return new Promise((r) => s.bind(0, '127.0.0.1', () => r(s)));
}

beforeAll(async () => {
  upstream = await bindUdp();
  upstreamPort = upstream.address().port;
  upstream.on('message', (msg, rinfo) => {
    const q = parseMessage(msg);
    upstreamSaw.push(q.questions[0]!.name);
    const res = encodeMessage({
      ...q,
      qr: true,
      ra: true,
      answers: [addressRecord(q.questions[0]!.name, '192.0.2.99', 30)],
    });
    upstream.send(res, rinfo.port, rinfo.address);
  });
  silent = await bindUdp();
  const names: Record<string, { v4: string[]; v6: string[] }> = {
    web: { v4: ['10.89.0.2', '10.89.0.3'], v6: ['fd00::2'] },
    db: { v4: ['10.89.0.4'], v6: [] },
  };
  server = new EmbeddedDnsServer({
    address: '127.0.0.1',
    port: 0,
    lookup: (n) => names[n],
    upstreams: () => [{ address: '127.0.0.1', port: upstreamPort }],
    allowClient: () => allow,
  });
  await server.start();
  silentServer = new EmbeddedDnsServer({
    address: '127.0.0.1',
    port: 0,
    lookup: () => undefined,
    upstreams: () => [{ address: '127.0.0.1', port: silent.address().port }],
    allowClient: () => true,
    forwardTimeoutMs: 300,
  });
  await silentServer.start();
});

afterAll(async () => {
  await server?.close();
  await silentServer?.close();
  upstream?.close();
  silent?.close();
});

describe('embedded DNS server', () => {
  it('answers A and AAAA for container names, case-insensitively, without asking upstream', async () => {
    const a = await ask(server.port, buildQuery(11, 'WEB', RRType.A));
    expect(a).toMatchObject({ id: 11, qr: true, aa: true, rcode: RCode.NOERROR });
    expect(a.answers.map(recordAddress)).toEqual(['10.89.0.2', '10.89.0.3']);
    expect(a.answers[0]!.name).toBe('WEB');
    const aaaa = await ask(server.port, buildQuery(12, 'web.', RRType.AAAA));
    expect(aaaa.answers.map(recordAddress)).toEqual(['fd00::2']);
    // a known name without records of that type: NOERROR, no answers (not NXDOMAIN)
    const none = await ask(server.port, buildQuery(13, 'db', RRType.AAAA));
    expect(none).toMatchObject({ rcode: RCode.NOERROR, answers: [] });
    expect(upstreamSaw).toEqual([]);
  });

  it('NXDOMAIN for unknown single-label names, which never leave the host', async () => {
    const r = await ask(server.port, buildQuery(14, 'nosuchcontainer', RRType.A));
    expect(r).toMatchObject({ id: 14, rcode: RCode.NXDOMAIN, answers: [] });
    expect(upstreamSaw).toEqual([]);
  });

  it('forwards other names to the configured upstream and relays its answer', async () => {
    const r = await ask(server.port, buildQuery(15, 'www.example.test', RRType.A));
    expect(r.id).toBe(15);
    expect(r.answers.map(recordAddress)).toEqual(['192.0.2.99']);
    expect(upstreamSaw).toEqual(['www.example.test']);
  });

  it('SERVFAIL when the upstream does not answer', async () => {
    const r = await ask(silentServer.port, buildQuery(16, 'www.example.test', RRType.A));
    expect(r).toMatchObject({ id: 16, rcode: RCode.SERVFAIL });
  });

  it('FORMERR for garbage with a header, NOTIMP for other opcodes', async () => {
    const garbage = Buffer.concat([Buffer.from('00170000000100000000000005', 'hex')]);
    expect(await ask(server.port, garbage)).toMatchObject({ id: 0x17, qr: true, rcode: RCode.FORMERR });
    const status = buildQuery(18, 'web', RRType.A);
    status.writeUInt16BE(2 << 11, 2); // opcode STATUS
    expect(await ask(server.port, status)).toMatchObject({ id: 18, rcode: RCode.NOTIMP });
  });

  it('ignores clients outside the network', async () => {
    allow = false;
    try {
      await expect(ask(server.port, buildQuery(19, 'web', RRType.A), 1000)).rejects.toThrow('no DNS answer');
    } finally {
      allow = true;
    }
  });
});
