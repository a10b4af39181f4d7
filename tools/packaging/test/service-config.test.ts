// Which of a service's settings a BERTH_* variable can carry: the service
// kit reads lists from env as comma-separated strings and maps as k=v string
// pairs, so lists and maps of anything else come from the config file only.
import { baseConfigSchema } from '@berth/service-kit';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configKeys } from '../src/index.js';

describe('configKeys', () => {
  it('splits the shared settings, the env-settable own ones and the file-only ones', () => {
    const schema = baseConfigSchema.extend({
      names: z.array(z.string()).default([]),
      pools: z.array(z.union([z.object({ base: z.string() }), z.string().transform((s) => ({ base: s }))])).optional(),
      labels: z.record(z.string(), z.string()).default({}),
      modes: z.record(z.string(), z.enum(['a', 'b'])).optional(),
      hosts: z.record(z.string(), z.object({ caFile: z.string() }).strict()).default({}),
      ports: z.array(z.number().int()).default([]),
      nested: z.object({ timeoutMs: z.number().default(1), on: z.boolean().default(true) }).default({}),
    });
    const { base, own, fileOnly } = configKeys(schema);
    expect(base.get('BERTH_NATS_URL')).toBe('string');
    expect(own.has('BERTH_NATS_URL')).toBe(false);
    expect(Object.fromEntries(own)).toEqual({
      BERTH_NAMES: 'array',
      BERTH_POOLS: 'array',
      BERTH_LABELS: 'record',
      BERTH_MODES: 'record',
      BERTH_NESTED_TIMEOUT_MS: 'number',
      BERTH_NESTED_ON: 'boolean',
    });
    expect(Object.fromEntries(fileOnly)).toEqual({ BERTH_HOSTS: 'record', BERTH_PORTS: 'array' });
  });
});
