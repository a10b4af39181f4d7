import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { chainId, chainIds, InvalidDigestError } from '../src/index.js';

const L0 = 'sha256:' + 'a'.repeat(64);
const L1 = 'sha256:' + 'b'.repeat(64);
const L2 = 'sha256:' + 'c'.repeat(64);

/** sha256 via coreutils, so the vector does not come from the code under test. */
function sha256sum(text: string): string {
  return `sha256:${execFileSync('sha256sum', { input: text }).toString().split(' ')[0]}`;
}

describe('chainIds', () => {
  it('follows the OCI definition, checked against coreutils sha256sum', () => {
    const c1 = sha256sum(`${L0} ${L1}`);
    const c2 = sha256sum(`${c1} ${L2}`);
    expect(chainIds([L0, L1, L2])).toEqual([L0, c1, c2]);
  });

  it('matches a pinned vector (computed with Python hashlib)', () => {
    expect(chainIds([L0, L1])[1]).toBe('sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c');
  });

  it('ChainID(L0) is DiffID(L0), and no layers give no chain ids', () => {
    expect(chainIds([L1])).toEqual([L1]);
    expect(chainIds([])).toEqual([]);
    expect(chainId([])).toBeUndefined();
    expect(chainId([L0, L1, L2])).toBe(chainIds([L0, L1, L2])[2]);
  });

  it('depends on layer order', () => {
    expect(chainIds([L0, L1])[1]).not.toBe(chainIds([L1, L0])[1]);
  });

  it('rejects an invalid diff id naming its position', () => {
    expect(() => chainIds([L0, 'sha256:xyz'])).toThrow(InvalidDigestError);
    expect(() => chainIds([L0, 'sha256:xyz'])).toThrow(/^diff_ids\[1\]: invalid digest "sha256:xyz"/);
  });
});
