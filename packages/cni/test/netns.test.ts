import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetns, listLinks, listNetns, netnsExists, netnsPath, removeNetns } from '../src/index.js';
import { uniqueName } from './helpers.js';

const created: string[] = [];

afterAll(async () => {
  for (const ns of created) await removeNetns(ns).catch(() => undefined);
});

describe('netns', () => {
  it('creates a bind-mounted namespace with lo up, lists and removes it', async () => {
    const name = uniqueName('bns');
    created.push(name);
    const ns = await createNetns(name);
    expect(ns).toEqual({ name, path: `/run/netns/${name}` });
    expect(await netnsExists(name)).toBe(true);
    expect(await listNetns()).toContain(name);
    // a real mount of a net namespace, not a plain file
    expect(execFileSync('findmnt', ['-n', '-o', 'FSTYPE', netnsPath(name)]).toString().trim()).toBe('nsfs');
    const links = await listLinks(name);
    expect(links).toEqual([{ name: 'lo', kind: undefined, master: undefined, up: true }]);

    expect(await removeNetns(name)).toBe(true);
    expect(existsSync(netnsPath(name))).toBe(false);
    expect(await netnsExists(name)).toBe(false);
    expect(await removeNetns(name)).toBe(false);
  });

  it('removes the namespace again when lo cannot be brought up, and says why', async () => {
    const name = uniqueName('bns');
    created.push(name);
    // an `ip` that fails the lo step only, first on PATH
    const bin = mkdtempSync(join(tmpdir(), 'berth-fake-ip-'));
    const realIp = execFileSync('sh', ['-c', 'command -v ip']).toString().trim();
    writeFileSync(join(bin, 'ip'), `#!/bin/sh\nif [ "$1" = -n ]; then echo "RTNETLINK answers: lo refused" >&2; exit 2; fi\nexec ${realIp} "$@"\n`, { mode: 0o755 });
    const path = process.env['PATH'];
    process.env['PATH'] = `${bin}:${path}`;
    try {
      await expect(createNetns(name)).rejects.toThrow(`cannot create netns "${name}" (ip netns add, then lo up): RTNETLINK answers: lo refused`);
    } finally {
      process.env['PATH'] = path;
      rmSync(bin, { recursive: true, force: true });
    }
    expect(await netnsExists(name)).toBe(false);
  });

  it('refuses duplicates and bad names without touching anything', async () => {
    const name = uniqueName('bns');
    created.push(name);
    await createNetns(name);
    await expect(createNetns(name)).rejects.toThrow(`netns "${name}" already exists at /run/netns/${name}`);
    expect(await netnsExists(name)).toBe(true);
    await expect(createNetns('../etc')).rejects.toThrow(/invalid netns name "..\/etc"/);
    await expect(createNetns('')).rejects.toThrow(/netns name is empty/);
    await expect(removeNetns('a/b')).rejects.toThrow(/invalid netns name/);
    expect(await removeNetns(name)).toBe(true);
  });
});
