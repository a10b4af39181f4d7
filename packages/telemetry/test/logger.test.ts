import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, initTracing, resolveFormat, resolveLevel, withSpan, type Tracing } from '../src/index.js';
import { captureLines } from './capture.js';

let tracing: Tracing;
beforeAll(() => {
  tracing = initTracing({ service: 'logtest', node: 'n1', version: '0.0.1', memory: true });
});
afterAll(async () => {
  await tracing.shutdown();
});

describe('createLogger', () => {
  it('writes JSON lines with service, node and pid', () => {
    const out = captureLines();
    const log = createLogger({ service: 'images', node: 'node-a', destination: out.stream });
    log.info({ digest: 'sha256:abc' }, 'pulled');
    const [line] = out.lines();
    const entry = JSON.parse(line ?? '') as Record<string, unknown>;
    expect(entry).toMatchObject({ service: 'images', node: 'node-a', pid: process.pid, msg: 'pulled', digest: 'sha256:abc' });
    expect(entry.trace_id).toBeUndefined();
    expect(typeof entry.time).toBe('string');
  });

  it('adds trace_id and span_id of the active span, also after an await and in child loggers', async () => {
    const out = captureLines();
    const log = createLogger({ service: 'tasks', node: 'node-b', destination: out.stream });
    const child = log.child({ component: 'runner' });
    const ids = await withSpan(tracing.tracer, 'work', {}, async (span) => {
      log.info('before await');
      await new Promise((r) => setTimeout(r, 5));
      child.warn('after await');
      return span.spanContext();
    });
    log.info('outside');
    const entries = out.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId, msg: 'before await' });
    expect(entries[1]).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId, component: 'runner' });
    expect(entries[2]?.trace_id).toBeUndefined();
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('honours the level option and BERTH_LOG_LEVEL', () => {
    const out = captureLines();
    const log = createLogger({ service: 's', node: 'n', level: 'warn', destination: out.stream });
    log.info('dropped');
    log.warn('kept');
    expect(out.lines().map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['kept']);

    const saved = process.env.BERTH_LOG_LEVEL;
    process.env.BERTH_LOG_LEVEL = 'debug';
    try {
      expect(createLogger({ service: 's', node: 'n', destination: out.stream }).level).toBe('debug');
    } finally {
      if (saved === undefined) delete process.env.BERTH_LOG_LEVEL;
      else process.env.BERTH_LOG_LEVEL = saved;
    }
  });

  it('rejects an unknown level naming it', () => {
    expect(() => resolveLevel('loud')).toThrow(/invalid log level "loud".*expected one of fatal, error/);
    expect(resolveLevel(undefined)).toBe('info');
    expect(resolveLevel(' WARN ')).toBe('warn');
  });

  it('formats pretty only on a TTY unless told', () => {
    expect(resolveFormat({}, undefined, true)).toBe('pretty');
    expect(resolveFormat({}, undefined, false)).toBe('json');
    expect(resolveFormat({}, 'json', true)).toBe('json');
    expect(resolveFormat({}, 'pretty', false)).toBe('pretty');
    expect(resolveFormat({ format: 'json' }, 'pretty', true)).toBe('json');
    // a caller-supplied destination is not the terminal
    expect(resolveFormat({ destination: captureLines().stream }, undefined, true)).toBe('json');
    expect(() => resolveFormat({}, 'xml', false)).toThrow(/invalid log format "xml".*json or pretty/);
  });

  it('writes human-readable lines when pretty', async () => {
    const out = captureLines();
    const log = createLogger({ service: 's', node: 'n', destination: out.stream, format: 'pretty' });
    log.info('hello there');
    // pino-pretty is a Transform stream: its output may arrive a tick later
    for (let i = 0; i < 100 && out.lines().length === 0; i++) await new Promise((r) => setImmediate(r));
    const text = out.lines().join('\n');
    expect(text).toContain('hello there');
    expect(() => JSON.parse(out.lines()[0] ?? '')).toThrow();
  });
});
