// The pure pieces of the gRPC layer: status mapping, list filters, progress
// batching and the bus form of core events.
import { describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { images, types } from '@berth/api';
import { StatusError } from '@berth/service-kit';
import { busEventOf } from '../src/bus-events.js';
import { ImagesError } from '../src/errors.js';
import { compileFilters, globMatcher } from '../src/grpc/filters.js';
import { ProgressBatcher } from '../src/grpc/progress-batcher.js';
import { toStatusError } from '../src/grpc/status.js';
import type { LayerState, PullProgress } from '../src/progress.js';

describe('toStatusError', () => {
  it('maps core codes, OCI codes, aborts and gRPC errors; anything else is INTERNAL', () => {
    expect(toStatusError(new ImagesError('NOT_FOUND', 'gone'))).toMatchObject({ code: grpc.status.NOT_FOUND, message: 'gone' });
    expect(toStatusError(new ImagesError('UNAVAILABLE', 'down')).code).toBe(grpc.status.UNAVAILABLE);
    expect(toStatusError(Object.assign(new Error('bad digest'), { code: 'INVALID_DIGEST' })).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(toStatusError(Object.assign(new Error('mismatch'), { code: 'DIGEST_MISMATCH' })).code).toBe(grpc.status.DATA_LOSS);
    expect(toStatusError(Object.assign(new Error('stop'), { name: 'AbortError' })).code).toBe(grpc.status.CANCELLED);
    const kit = new StatusError(grpc.status.ABORTED, 'locked');
    expect(toStatusError(kit)).toBe(kit);
    expect(toStatusError({ code: grpc.status.PERMISSION_DENIED, details: 'no', message: '7 PERMISSION_DENIED: no' })).toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      message: 'no',
    });
    expect(toStatusError(new TypeError('x is undefined'))).toMatchObject({ code: grpc.status.INTERNAL, message: 'x is undefined' });
  });
});

describe('compileFilters', () => {
  const items: { name: string; labels: Record<string, string> }[] = [
    { name: 'docker.io/library/busybox:latest', labels: { tier: 'base' } },
    { name: 'example.com/app:v1', labels: { tier: 'app', team: 'a' } },
    { name: 'example.com/app:v2', labels: {} },
  ];
  const names = (filters: string[]) =>
    items.filter(compileFilters(filters, { fields: { name: (i) => i.name }, globs: ['name'], labels: (i) => i.labels })).map((i) => i.name);

  it('ORs values of one key, ANDs different keys, matches labels by presence or value, and globs where allowed', () => {
    expect(names([])).toHaveLength(3);
    expect(names(['name=example.com/app:v1', 'name=example.com/app:v2'])).toEqual(['example.com/app:v1', 'example.com/app:v2']);
    expect(names(['name=example.com/*', 'label=tier'])).toEqual(['example.com/app:v1']);
    expect(names(['label=tier=base'])).toEqual(['docker.io/library/busybox:latest']);
    expect(names(['name=example.com/app:v?'])).toEqual(['example.com/app:v1', 'example.com/app:v2']);
  });

  it('rejects malformed filters and unknown keys, naming them', () => {
    expect(() => names(['nokey'])).toThrow(/invalid filter "nokey": expected key=value \(keys: name, label\)/);
    expect(() => names(['size=3'])).toThrow(/unknown key "size"/);
    expect(() => names(['label='])).toThrow(/empty label key/);
  });

  it('globs match whole strings and treat regex characters literally', () => {
    expect(globMatcher('a.b*')('a.bc')).toBe(true);
    expect(globMatcher('a.b*')('axbc')).toBe(false);
    expect(globMatcher('*:v1')('x:v1:y')).toBe(false);
  });
});

describe('ProgressBatcher', () => {
  const snapshot = (layers: [string, LayerState, number][]): PullProgress => ({
    ref: 'r',
    phase: 'fetching',
    layers: layers.map(([digest, state, current]) => ({ id: digest.slice(7, 19), digest: digest as `sha256:${string}`, mediaType: 'm', state, current, total: 100 })),
    current: 0,
    total: 0,
  });

  it('sends the first update at once, then holds updates for the interval: bytes coalesce, state changes all stay', () => {
    const sent: images.TransferProgress[] = [];
    const batcher = new ProgressBatcher((p) => sent.push(p), 1_000_000);
    const a = `sha256:${'a'.repeat(64)}`;
    const b = `sha256:${'b'.repeat(64)}`;
    batcher.update(snapshot([[a, 'waiting', 0], [b, 'waiting', 0]]));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.blobs.map((x) => x.state)).toEqual([types.ProgressState.WAITING, types.ProgressState.WAITING]);

    batcher.update(snapshot([[a, 'downloading', 10], [b, 'exists', 100]]));
    batcher.update(snapshot([[a, 'downloading', 50], [b, 'extracting', 100]]));
    batcher.update(snapshot([[a, 'downloading', 70], [b, 'done', 100]]));
    batcher.update(snapshot([[a, 'downloading', 70], [b, 'done', 100]])); // nothing new
    expect(sent).toHaveLength(1); // held: the interval has not passed

    batcher.flush();
    expect(sent).toHaveLength(2);
    expect(sent[1]!.blobs.map((x) => [x.digest, x.state, x.current])).toEqual([
      [a, types.ProgressState.DOWNLOADING, 70],
      [b, types.ProgressState.EXISTS, 100],
      [b, types.ProgressState.EXTRACTING, 100],
      [b, types.ProgressState.DONE, 100],
    ]);
    batcher.flush();
    expect(sent).toHaveLength(2); // nothing pending, nothing sent
    batcher.stop();
  });
});

describe('busEventOf', () => {
  const target = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 42 };

  it('gives image and pull events their events-proto payloads, published durably', () => {
    expect(busEventOf({ type: 'images.deleted', namespace: 'default', payload: { name: 'n', target } })).toEqual({
      type: 'images.deleted',
      payload: { name: 'n', targetDigest: target.digest },
      durable: true,
    });
    const created = busEventOf({ type: 'images.created', namespace: 'default', payload: { name: 'n', target, labels: { a: 'b' } } });
    expect(created).toMatchObject({ type: 'images.created', durable: true, payload: { name: 'n', labels: { a: 'b' }, target: { digest: target.digest, size: 42 } } });
    const failed = busEventOf({ type: 'images.pull.failed', namespace: 'default', payload: { ref: 'r', error: 'boom', code: 'DATA_LOSS' } });
    expect(failed).toEqual({ type: 'images.pull.failed', payload: { reference: 'r', error: 'boom' }, durable: true });
  });

  it('passes events without a proto payload through as they are, not durably', () => {
    const gc = { type: 'content.gc.finished' as const, payload: { removed: 1, bytes: 2, expiredLeases: [] } };
    expect(busEventOf(gc)).toEqual({ type: 'content.gc.finished', payload: gc.payload, durable: false });
  });
});
