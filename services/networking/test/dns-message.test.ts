import { describe, expect, it } from 'vitest';
import { DnsFormatError, RRType, addressRecord, buildQuery, encodeMessage, parseMessage, recordAddress } from '../src/index.js';

describe('DNS messages', () => {
  it('round-trips a query', () => {
    const q = parseMessage(buildQuery(0x1234, 'web.example.', RRType.AAAA));
    expect(q).toMatchObject({ id: 0x1234, qr: false, rd: true, opcode: 0, rcode: 0, questions: [{ name: 'web.example', type: 28, class: 1 }] });
  });

  it('encodes a response with A and AAAA answers byte-exactly', () => {
    const buf = encodeMessage({
      id: 7,
      qr: true,
      opcode: 0,
      aa: true,
      tc: false,
      rd: true,
      ra: true,
      rcode: 0,
      questions: [{ name: 'a', type: RRType.A, class: 1 }],
      answers: [addressRecord('a', '10.0.0.2', 600)],
      authorities: [],
      additionals: [],
    });
    expect(buf.toString('hex')).toBe(
      '0007' + '8580' + '0001' + '0001' + '0000' + '0000' + '016100' + '0001' + '0001' + '016100' + '0001' + '0001' + '00000258' + '0004' + '0a000002',
    );
    const m = parseMessage(buf);
    expect(recordAddress(m.answers[0]!)).toBe('10.0.0.2');
    expect(recordAddress(addressRecord('b', 'fd00::2', 1))).toBe('fd00::2');
  });

  it('reads compressed names (as real resolvers send them)', () => {
    // header, question "web.test", answer with a pointer to offset 12
    const header = Buffer.from('abcd81800001000100000000', 'hex');
    const question = Buffer.from('0377656204746573740000010001', 'hex');
    const answer = Buffer.from('c00c000100010000003c00040a000009', 'hex');
    const m = parseMessage(Buffer.concat([header, question, answer]));
    expect(m.answers[0]).toMatchObject({ name: 'web.test', ttl: 60 });
    expect(recordAddress(m.answers[0]!)).toBe('10.0.0.9');
  });

  it.each([
    ['short header', Buffer.from('0001', 'hex'), /only 2 bytes/],
    ['pointer loop', Buffer.from('000100000001000000000000c00c00010001', 'hex'), /compression pointer loop/],
    ['label past end', Buffer.from('0001000000010000000000000577', 'hex'), /label runs past the end/],
    ['truncated question', Buffer.from('00010000000100000000000001610000', 'hex'), /question 0 is truncated/],
    ['answer data past end', Buffer.from('0001800000000001000000000161000001000100000001ffff', 'hex'), /data runs past the end/],
  ])('refuses %s', (_what, buf, err) => {
    expect(() => parseMessage(buf)).toThrow(DnsFormatError);
    expect(() => parseMessage(buf)).toThrow(err);
  });

  it('refuses to encode over-long labels', () => {
    expect(() => buildQuery(1, `${'x'.repeat(64)}.test`, RRType.A)).toThrow(/label length 64/);
  });
});
