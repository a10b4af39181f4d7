import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { DnsFormatError, RCode, RRClass, RRType, addressRecord, encodeMessage, parseMessage, type DnsMessage, type DnsRecord } from './message.js';

export interface DnsUpstream {
  address: string;
  port: number;
}

/** Addresses known for a name on this network. */
export interface NameAnswer {
  v4: string[];
  v6: string[];
}

export interface EmbeddedDnsOptions {
  /** Address to listen on (the network's gateway). */
  address: string;
  /** Default 53. */
  port?: number;
  /** Container names and aliases of the network; name arrives lowercased without trailing dot. */
  lookup: (name: string) => NameAnswer | undefined;
  /** Resolvers to forward other names to; read per query so resolv.conf changes are picked up. Empty: no forwarding. */
  upstreams: () => DnsUpstream[];
  /** Only clients for which this returns true are answered (the network's subnet). */
  allowClient: (address: string) => boolean;
  ttl?: number;
  forwardTimeoutMs?: number;
  onError?: (err: Error) => void;
}

const MAX_UDP_ANSWER = 512;

function reply(query: DnsMessage, rcode: number, answers: DnsRecord[], aa: boolean): DnsMessage {
  return {
    id: query.id,
    qr: true,
    opcode: query.opcode,
    aa,
    tc: false,
    rd: query.rd,
    ra: true,
    rcode,
    questions: query.questions,
    answers,
    authorities: [],
    additionals: [],
  };
}

/** Sends one query to one upstream; resolves with its raw response or undefined on timeout/error. */
function askUpstream(raw: Buffer, id: number, up: DnsUpstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(isIP(up.address) === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (v: Buffer | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('error', () => finish(undefined));
    sock.on('message', (msg, rinfo) => {
      // only the upstream we asked, answering the question we asked
      if (rinfo.address !== up.address || rinfo.port !== up.port || msg.length < 2 || msg.readUInt16BE(0) !== id) return;
      finish(msg);
    });
    sock.send(raw, up.port, up.address, (err) => {
      if (err) finish(undefined);
    });
  });
}

/**
 * The embedded DNS server of one user network, as Docker's: answers A and
 * AAAA for the network's container names and aliases, NXDOMAIN for other
 * single-label names, and forwards everything else to the host's resolvers,
 * only ever on a container's query. UDP only; listens on the gateway so
 * containers reach it without NAT.
 */
export class EmbeddedDnsServer {
  private readonly opts: Required<Omit<EmbeddedDnsOptions, 'onError'>> & Pick<EmbeddedDnsOptions, 'onError'>;
  private sock: dgram.Socket | undefined;

  constructor(opts: EmbeddedDnsOptions) {
    this.opts = { port: 53, ttl: 600, forwardTimeoutMs: 2000, ...opts };
  }

  get address(): string {
    return this.opts.address;
  }

  /** The bound port (useful when 0 was asked for). */
  get port(): number {
    const a = this.sock?.address();
    return a ? a.port : this.opts.port;
  }

  start(): Promise<void> {
    if (this.sock) return Promise.resolve();
    const sock = dgram.createSocket({ type: isIP(this.opts.address) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => {
        sock.close();
        reject(new Error(`embedded DNS cannot listen on ${this.opts.address}:${this.opts.port}: ${e.message}`));
      };
      sock.once('error', onError);
      sock.bind(this.opts.port, this.opts.address, () => {
        sock.off('error', onError);
        sock.on('error', (e) => this.opts.onError?.(e));
        sock.on('message', (msg, rinfo) => {
          this.handle(msg, rinfo).catch((e: unknown) => this.opts.onError?.(e as Error));
        });
        this.sock = sock;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    const sock = this.sock;
    this.sock = undefined;
    if (!sock) return Promise.resolve();
    return new Promise((resolve) => sock.close(() => resolve()));
  }

  private send(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    this.sock?.send(buf, rinfo.port, rinfo.address);
  }

  private async handle(raw: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    if (!this.opts.allowClient(rinfo.address)) return;
    let query: DnsMessage;
    try {
      query = parseMessage(raw);
    } catch (e) {
      if (e instanceof DnsFormatError && raw.length >= 12 && (raw.readUInt16BE(2) & 0x8000) === 0) {
        const header = Buffer.from(raw.subarray(0, 12));
        header.writeUInt16BE(0x8000 | RCode.FORMERR, 2);
        header.fill(0, 4);
        this.send(header, rinfo);
      }
      return;
    }
    if (query.qr) return; // a response sent to us: ignore
    const answer = await this.answer(query, raw);
    if (answer) this.send(answer, rinfo);
  }

  /** The response bytes for a query (exported through handle; separate for clarity). */
  private async answer(query: DnsMessage, raw: Buffer): Promise<Buffer | undefined> {
    if (query.opcode !== 0) return encodeMessage(reply(query, RCode.NOTIMP, [], false));
    const q = query.questions[0];
    if (query.questions.length !== 1 || !q) return encodeMessage(reply(query, RCode.FORMERR, [], false));
    const name = q.name.toLowerCase().replace(/\.$/, '');
    const known = q.class === RRClass.IN ? this.opts.lookup(name) : undefined;
    if (known) {
      const answers: DnsRecord[] = [];
      if (q.type === RRType.A || q.type === RRType.ANY) for (const ip of known.v4) answers.push(addressRecord(q.name, ip, this.opts.ttl));
      if (q.type === RRType.AAAA || q.type === RRType.ANY) for (const ip of known.v6) answers.push(addressRecord(q.name, ip, this.opts.ttl));
      const msg = reply(query, RCode.NOERROR, answers, true);
      let buf = encodeMessage(msg);
      while (buf.length > MAX_UDP_ANSWER && msg.answers.length > 0) {
        msg.answers.pop();
        msg.tc = true;
        buf = encodeMessage(msg);
      }
      return buf;
    }
    const upstreams = name.includes('.') ? this.opts.upstreams() : [];
    if (upstreams.length === 0) return encodeMessage(reply(query, RCode.NXDOMAIN, [], false));
    for (const up of upstreams) {
      const res = await askUpstream(raw, query.id, up, this.opts.forwardTimeoutMs);
      if (res) return res;
    }
    return encodeMessage(reply(query, RCode.SERVFAIL, [], false));
  }
}
