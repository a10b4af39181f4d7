// The pieces of the offline base image that are pure: reading ldd, placing
// libraries in a merged-/usr root, and appending only what the root lacks.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostNode, mergedUsrPath, normaliseTarNames, overlayEntries, parseLdd } from '../src/index.js';

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('base image helpers', () => {
  it('parseLdd reads resolved libraries and the loader, not the vDSO', () => {
    const out = [
      '\tlinux-vdso.so.1 (0x00007ffd)',
      '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f28)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f28)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f28)',
    ].join('\n');
    expect(parseLdd(out)).toEqual(['/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  });

  it('mergedUsrPath maps /lib and /lib64 under usr/, leaves others', () => {
    expect(mergedUsrPath('/lib/x86_64-linux-gnu/libc.so.6')).toBe('usr/lib/x86_64-linux-gnu/libc.so.6');
    expect(mergedUsrPath('/lib64/ld-linux-x86-64.so.2')).toBe('usr/lib64/ld-linux-x86-64.so.2');
    expect(mergedUsrPath('/usr/lib/x86_64-linux-gnu/libz.so.1')).toBe('usr/lib/x86_64-linux-gnu/libz.so.1');
  });

  it('normaliseTarNames strips ./ and trailing slashes', () => {
    expect([...normaliseTarNames('./\n./usr/\n./usr/bin/ls\nusr/lib\n')]).toEqual(['', 'usr', 'usr/bin/ls', 'usr/lib']);
  });

  it('overlayEntries lists only what the root lacks (docker import refuses duplicates), parents first', () => {
    const overlay = mkdtempSync(join(tmpdir(), 'berth-overlay-'));
    temps.push(overlay);
    mkdirSync(join(overlay, 'usr/local/bin'), { recursive: true });
    mkdirSync(join(overlay, 'usr/local/lib/node_modules/npm'), { recursive: true });
    writeFileSync(join(overlay, 'usr/local/bin/node'), '');
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(overlay, 'usr/local/bin/npm'));
    const rootfs = new Set(['usr', 'usr/local', 'usr/local/bin', 'usr/local/lib']);
    expect(overlayEntries(overlay, rootfs)).toEqual([
      'usr/local/bin/node',
      'usr/local/bin/npm',
      'usr/local/lib/node_modules',
      'usr/local/lib/node_modules/npm',
    ]);
    expect(() => overlayEntries(overlay, new Set([...rootfs, 'usr/local/bin/node']))).toThrow(
      'the root filesystem already has /usr/local/bin/node; the Node runtime overlay would replace it',
    );
  });

  it('hostNode finds this node and the npm beside it', () => {
    const node = hostNode();
    expect(node.version).toBe(process.version);
    expect(node.npmVersion).toMatch(/^\d+\.\d+\.\d+/);
  });
});
