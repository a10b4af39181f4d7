// Reading the host's open-files limit, for the spec builder's nofile default.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseNofileHardLimit, readNofileHardLimit } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-runtime-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 20000                files
`;

describe('open-files limit', () => {
  test('parses the hard limit; unlimited or missing is undefined', () => {
    expect(parseNofileHardLimit(LIMITS)).toBe(20000);
    expect(parseNofileHardLimit(LIMITS.replace('20000', 'unlimited'))).toBeUndefined();
    expect(parseNofileHardLimit('Limit Soft Hard\n')).toBeUndefined();
  });

  test('reads this process\'s limit, and a file given', () => {
    const own = readNofileHardLimit();
    expect(own).toBeGreaterThan(0);
    const path = join(dir, 'limits');
    writeFileSync(path, LIMITS);
    expect(readNofileHardLimit(path)).toBe(20000);
    expect(readNofileHardLimit(join(dir, 'missing'))).toBeUndefined();
  });
});
