// A minimal DNS message codec (RFC 1035, AAAA from RFC 3596): enough to
// answer A/AAAA questions and to read any message well enough to relay it.

import { formatIp, parseIp } from '../ip/cidr.js';

export const RRType = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
export const RRClass = { IN: 1 } as const;
export const RCode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: Buffer;
}

export interface DnsMessage {
  id: number;
  /** true for a response. */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

export class DnsFormatError extends Error {
  constructor(message: string) {
    super(`malformed DNS message: ${message}`);
    this.name = 'DnsFormatError';
  }
}

const HEADER = 12;
const MAX_NAME = 255;
const MAX_LABEL = 63;

/** Reads a possibly compressed name at `offset`; returns it (dot-separated, no trailing dot) and where the name ended. */
function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (pos >= buf.length) throw new DnsFormatError('name runs past the end');
    const len = buf[pos]!;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsFormatError('truncated compression pointer');
      if (++jumps > 32) throw new DnsFormatError('compression pointer loop');
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (next < 0) next = pos + 2;
      if (target >= buf.length) throw new DnsFormatError('compression pointer past the end');
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsFormatError(`unsupported label type 0x${len.toString(16)}`);
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if (pos + 1 + len > buf.length) throw new DnsFormatError('label runs past the end');
    length += len + 1;
    if (length > MAX_NAME) throw new DnsFormatError('name longer than 255 bytes');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.join('.'), next };
}

function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of trimmed.split('.')) {
    const b = Buffer.from(label, 'latin1');
    if (b.length === 0 || b.length > MAX_LABEL) throw new Error(`cannot encode DNS name ${JSON.stringify(name)}: label length ${b.length}`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > MAX_NAME) throw new Error(`cannot encode DNS name ${JSON.stringify(name)}: longer than 255 bytes`);
  return out;
}

function readRecords(buf: Buffer, offset: number, count: number, section: string): { records: DnsRecord[]; next: number } {
  const records: DnsRecord[] = [];
  let pos = offset;
  for (let i = 0; i < count; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 10 > buf.length) throw new DnsFormatError(`${section} record ${i} is truncated`);
    const type = buf.readUInt16BE(next);
    const cls = buf.readUInt16BE(next + 2);
    const ttl = buf.readUInt32BE(next + 4);
    const rdlen = buf.readUInt16BE(next + 8);
    const start = next + 10;
    if (start + rdlen > buf.length) throw new DnsFormatError(`${section} record ${i} data runs past the end`);
    records.push({ name, type, class: cls, ttl, data: Buffer.from(buf.subarray(start, start + rdlen)) });
    pos = start + rdlen;
  }
  return { records, next: pos };
}

export function parseMessage(buf: Buffer): DnsMessage {
  if (buf.length < HEADER) throw new DnsFormatError(`only ${buf.length} bytes, a header needs 12`);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  let pos = HEADER;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 4 > buf.length) throw new DnsFormatError(`question ${i} is truncated`);
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    pos = next + 4;
  }
  const answers = readRecords(buf, pos, an, 'answer');
  const authorities = readRecords(buf, answers.next, ns, 'authority');
  const additionals = readRecords(buf, authorities.next, ar, 'additional');
  return {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    questions,
    answers: answers.records,
    authorities: authorities.records,
    additionals: additionals.records,
  };
}

function encodeRecord(r: DnsRecord): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(r.type, 0);
  fixed.writeUInt16BE(r.class, 2);
  fixed.writeUInt32BE(r.ttl, 4);
  fixed.writeUInt16BE(r.data.length, 8);
  return Buffer.concat([encodeName(r.name), fixed, r.data]);
}

/** Encodes a message (names uncompressed). */
export function encodeMessage(m: DnsMessage): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(m.id & 0xffff, 0);
  const flags =
    (m.qr ? 0x8000 : 0) |
    ((m.opcode & 0xf) << 11) |
    (m.aa ? 0x0400 : 0) |
    (m.tc ? 0x0200 : 0) |
    (m.rd ? 0x0100 : 0) |
    (m.ra ? 0x0080 : 0) |
    (m.rcode & 0xf);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(m.questions.length, 4);
  header.writeUInt16BE(m.answers.length, 6);
  header.writeUInt16BE(m.authorities.length, 8);
  header.writeUInt16BE(m.additionals.length, 10);
  const parts: Buffer[] = [header];
  for (const q of m.questions) {
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(q.type, 0);
    tail.writeUInt16BE(q.class, 2);
    parts.push(encodeName(q.name), tail);
  }
  for (const r of [...m.answers, ...m.authorities, ...m.additionals]) parts.push(encodeRecord(r));
  return Buffer.concat(parts);
}

/** An A or AAAA record for an address. */
export function addressRecord(name: string, ip: string, ttl: number): DnsRecord {
  const a = parseIp(ip);
  const bytes = a.family === 4 ? 4 : 16;
  const data = Buffer.alloc(bytes);
  let v = a.value;
  for (let i = bytes - 1; i >= 0; i--) {
    data[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return { name, type: a.family === 4 ? RRType.A : RRType.AAAA, class: RRClass.IN, ttl, data };
}

/** The address in an A/AAAA record's data. */
export function recordAddress(r: DnsRecord): string {
  if (r.type === RRType.A && r.data.length === 4) {
    return formatIp({ family: 4, value: BigInt(r.data.readUInt32BE(0)) });
  }
  if (r.type === RRType.AAAA && r.data.length === 16) {
    return formatIp({ family: 6, value: BigInt(`0x${r.data.toString('hex')}`) });
  }
  throw new Error(`record of type ${r.type} with ${r.data.length} bytes is not an address`);
}

/** A query message, e.g. for tests and clients. */
export function buildQuery(id: number, name: string, type: number, rd = true): Buffer {
  return encodeMessage({
    id,
    qr: false,
    opcode: 0,
    aa: false,
    tc: false,
    rd,
    ra: false,
    rcode: 0,
    questions: [{ name, type, class: RRClass.IN }],
    answers: [],
    authorities: [],
    additionals: [],
  });
}
