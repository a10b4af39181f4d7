// Host facts read at start-up.
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { readNofileHardLimit } from '@berth/runtime-spec';
import { findInitBinary, hostFacts } from '../src/host.js';

describe('hostFacts', () => {
  it('reads CPUs, memory, hostname and the open-files limit; nothing about devices or paths', () => {
    const facts = hostFacts();
    expect(facts.cpus).toBeGreaterThan(0);
    expect(facts.memoryBytes).toBeGreaterThan(0);
    expect(facts.hostname).toBe(hostname());
    expect(facts.nofileHardLimit).toBe(readNofileHardLimit());
    expect(Object.keys(facts).sort()).toEqual(['cpus', 'hostname', 'memoryBytes', 'nofileHardLimit', 'swapAccounting']);
  });
});

describe('findInitBinary', () => {
  it('takes the configured path as given', () => {
    expect(findInitBinary('/opt/tini')).toBe('/opt/tini');
  });
});
