import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLayer } from '../src/apply/apply-layer.js';
import { LayerError } from '../src/errors.js';
import type { Snapshotter } from '../src/snapshotter.js';
import {
  Sentinel,
  TempRoots,
  dir,
  file,
  hardlink,
  makeLayer,
  openSnapshotter,
  requireBinaries,
  streamOf,
  symlink,
  withMounted,
  type Layer,
  type Member,
} from './helpers.js';

const roots = new TempRoots();
let sentinel: Sentinel;
let before: Awaited<ReturnType<Sentinel['snapshot']>>;

beforeAll(async () => {
  requireBinaries('mount', 'umount', 'cp', 'perl', 'sync', 'zstd');
  sentinel = new Sentinel(roots);
  before = await sentinel.snapshot();
});
afterAll(() => roots.cleanup());

async function expectRefused(
  sn: Snapshotter,
  layer: Layer,
  message: RegExp,
  opts: { parent?: string; blob?: Buffer; allowDevices?: boolean } = {},
): Promise<LayerError> {
  const keysBefore = (await sn.list()).map((s) => s.key).sort();
  const dirsBefore = readdirSync(join(sn.root, 'snapshots')).sort();
  const err = await applyLayer(sn, {
    ...(opts.parent ? { parent: opts.parent } : {}),
    stream: streamOf(opts.blob ?? layer.gz),
    expectedDiffId: layer.diffId,
    ...(opts.allowDevices !== undefined ? { allowDevices: opts.allowDevices } : {}),
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LayerError);
  expect((err as Error).message).toMatch(message);
  // nothing outside touched, the half-applied snapshot discarded
  expect(await sentinel.snapshot()).toEqual(before);
  expect((await sn.list()).map((s) => s.key).sort()).toEqual(keysBefore);
  expect(readdirSync(join(sn.root, 'snapshots')).sort()).toEqual(dirsBefore);
  return err as LayerError;
}

const outside = () => sentinel.dir; // absolute host path of the sentinel directory

for (const driver of ['overlayfs', 'native'] as const) {
  describe(`hostile layers (${driver})`, () => {
    let sn: Snapshotter;
    beforeAll(async () => {
      ({ sn } = await openSnapshotter(roots, driver));
    });
    afterAll(() => sn.close());

    it('absolute member names are relative to the root (OCI): they land inside, the host path is untouched', async () => {
      const layer = makeLayer([file(`${outside()}/file`, 'pwned'), dir('/abs-dir'), file('/abs-dir/f', 'inside')]);
      const res = await applyLayer(sn, { stream: streamOf(layer.gz), expectedDiffId: layer.diffId });
      expect(await sentinel.snapshot()).toEqual(before);
      await withMounted(roots, await sn.view(`abs-view-${driver}`, res.chainId), (m) => {
        expect(readFileSync(join(m, outside(), 'file'), 'utf8')).toBe('pwned');
        expect(readFileSync(join(m, 'abs-dir/f'), 'utf8')).toBe('inside');
      });
      await sn.remove(`abs-view-${driver}`);
    });

    it('refuses ".." components', async () => {
      for (const name of ['../../../../../../../../tmp/evil', 'a/../../x', '..', 'ok/../ok']) {
        const err = await expectRefused(sn, makeLayer([file(name, 'x')]), /has a '\.\.' component; layer paths must stay inside the root/);
        expect(err.entry).toBe(name);
      }
    });

    it('refuses to write through a symlink in the same layer (absolute and relative targets)', async () => {
      await expectRefused(sn, makeLayer([symlink('evil', outside()), file('evil/file', 'pwned')]), /entry "evil\/file": parent "evil" is a symlink .*may not write through symlinks/);
      await expectRefused(sn, makeLayer([symlink('up', '../../../../../../../..'), dir(`up${outside()}`), file(`up${outside()}/file`, 'pwned')]), /parent "up" is a symlink/);
      await expectRefused(sn, makeLayer([dir('d'), symlink('d/evil', outside()), dir('d/evil/sub')]), /parent "d\/evil" is a symlink/);
    });

    it('refuses to write through a symlink planted by an earlier layer, but replaces a symlink named by an entry', async () => {
      const planted = makeLayer([dir('etc'), symlink('etc/evil', outside()), symlink('etc/passwd', `${outside()}/file`)]);
      const base = await applyLayer(sn, { stream: streamOf(planted.gz), expectedDiffId: planted.diffId });
      await expectRefused(sn, makeLayer([file('etc/evil/file', 'pwned')]), /parent "etc\/evil" is a symlink/, { parent: base.chainId });
      await expectRefused(sn, makeLayer([dir('etc/evil/sub')]), /parent "etc\/evil" is a symlink/, { parent: base.chainId });
      await expectRefused(sn, makeLayer([file('etc/evil/.wh.file', '')]), /parent "etc\/evil" is a symlink/, { parent: base.chainId });
      await expectRefused(sn, makeLayer([file('etc/evil/.wh..wh..opq', '')]), /parent "etc\/evil" is a symlink/, { parent: base.chainId });
      // an entry named like the symlink replaces the link; nothing is written through it
      const replace = makeLayer([file('etc/passwd', 'root:x:0:0::/root:/bin/sh\n')]);
      const top = await applyLayer(sn, { parent: base.chainId, stream: streamOf(replace.gz), expectedDiffId: replace.diffId });
      expect(await sentinel.snapshot()).toEqual(before);
      await withMounted(roots, await sn.view(`replace-${driver}`, top.chainId), (m) => {
        expect(lstatSync(join(m, 'etc/passwd')).isFile()).toBe(true);
        expect(readFileSync(join(m, 'etc/passwd'), 'utf8')).toMatch(/^root:/);
      });
      await sn.remove(`replace-${driver}`);
    });

    it('refuses hardlinks to outside paths, through symlinks, to missing targets or directories', async () => {
      await expectRefused(sn, makeLayer([hardlink('h', `../../../../../../..${outside()}/file`)]), /hardlink target name .* has a '\.\.' component/);
      // an absolute target is inside the root too, where it does not exist
      await expectRefused(sn, makeLayer([hardlink('h', `${outside()}/file`)]), /is a hardlink to .*, which does not exist/);
      await expectRefused(sn, makeLayer([symlink('evil', outside()), hardlink('h', 'evil/file')]), /parent "evil" is a symlink/);
      await expectRefused(sn, makeLayer([dir('d'), hardlink('h', 'd')]), /which is a directory/);
    });

    it('refuses whiteouts for "." and ".."', async () => {
      await expectRefused(sn, makeLayer([file('.wh...', '')]), /whiteout ".wh..." names "\.\.", which is not a file/);
      await expectRefused(sn, makeLayer([dir('a'), file('a/.wh..', '')]), /whiteout "a\/.wh.." names "\.", which is not a file/);
    });

    it('refuses device nodes when the caller does not allow them (fifos stay allowed)', async () => {
      const devices: Member[] = [dir('dev'), { entry: { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 } }];
      await expectRefused(sn, makeLayer(devices), /"dev\/sda": is a block device \(8:0\) but device nodes are not allowed here/, { allowDevices: false });
      await expectRefused(sn, makeLayer([{ entry: { name: 'mem', type: 'char', devmajor: 1, devminor: 1 } }]), /char device \(1:1\)/, { allowDevices: false });
      const fifo = makeLayer([{ entry: { name: 'pipe', type: 'fifo' } }]);
      const ok = await applyLayer(sn, { stream: streamOf(fifo.gz), expectedDiffId: fifo.diffId, allowDevices: false });
      expect(ok.applied).toBe(true);
    });

    it('refuses names with NUL bytes and over-long names', async () => {
      await expectRefused(sn, makeLayer([file('a\0b', 'x')]), /name "a\\u0000b" contains a NUL byte/);
      await expectRefused(sn, makeLayer([file('gnu\0name', 'x')], { gnuLongNames: true }), /contains a NUL byte/);
      await expectRefused(sn, makeLayer([file('x'.repeat(256), 'x')]), /has a component longer than 255 bytes/);
      await expectRefused(sn, makeLayer([file(`${'d'.repeat(200)}/`.repeat(21) + 'f', 'x')]), /is longer than 4096 bytes/);
      await expectRefused(sn, makeLayer([symlink('s', 'a\0b')]), /entry "s": link target "a\\u0000b" contains a NUL byte/);
    });

    it('refuses truncated and corrupt compressed streams and truncated tars', async () => {
      const members: Member[] = [dir('d')];
      for (let i = 0; i < 50; i++) members.push(file(`d/f${i}`, Buffer.alloc(4096, i)));
      const layer = makeLayer(members);
      const err = await expectRefused(sn, layer, /gzip stream is corrupt or truncated: unexpected end of file/, { blob: layer.gz.subarray(0, Math.floor(layer.gz.length / 2)) });
      expect(err.code).toBe('data_loss');
      const corrupt = Buffer.from(layer.gz);
      for (let i = 100; i < 140; i++) corrupt[i] = corrupt[i]! ^ 0x5a;
      await expectRefused(sn, layer, /gzip stream is corrupt or truncated/, { blob: corrupt });
      await expectRefused(sn, layer, /truncated tar archive: the stream ends/, { blob: layer.tar.subarray(0, 512 * 30) });
      const zst = execFileSync('zstd', ['-q', '-c'], { input: layer.tar });
      await expectRefused(sn, layer, /zstd stream is corrupt or truncated|truncated tar archive/, { blob: zst.subarray(0, Math.floor(zst.length / 2)) });
      await expectRefused(sn, layer, /truncated tar archive: the stream ends at offset 0 without the end-of-archive marker/, { blob: Buffer.alloc(0) });
      await expectRefused(sn, layer, /bad header checksum at offset 0 .*not a tar archive, or corrupt/, { blob: Buffer.alloc(4096, 0x41) });
    });

    it('a refused blob file is closed again (no descriptor left open)', async () => {
      const layer = makeLayer([file('f', randomBytes(100_000))]);
      const blobPath = join(roots.make(), 'truncated.tar.gz');
      writeFileSync(blobPath, layer.gz.subarray(0, 200));
      const openFds = () => readdirSync('/proc/self/fd').length;
      const fdsBefore = openFds();
      await expect(applyLayer(sn, { blobPath, expectedDiffId: layer.diffId })).rejects.toThrow(/gzip stream is corrupt or truncated/);
      await expect(applyLayer(sn, { blobPath, expectedDiffId: layer.diffId, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' })).rejects.toThrow(/declared as zstd/);
      await new Promise((r) => setTimeout(r, 50));
      expect(openFds()).toBe(fdsBefore);
      expect(await sentinel.snapshot()).toEqual(before);
    });
  });
}

describe('hostile layers against lower layers (overlayfs merged view)', () => {
  it('a symlink hidden by a whiteout no longer blocks, and a directory replaced by a symlink in a lower layer does', async () => {
    const { sn } = await openSnapshotter(roots);
    const l1 = makeLayer([dir('a'), file('a/f', '1')]);
    const l2 = makeLayer([file('.wh.a', ''), symlink('a', outside())]);
    const r1 = await applyLayer(sn, { stream: streamOf(l1.gz), expectedDiffId: l1.diffId });
    const r2 = await applyLayer(sn, { parent: r1.chainId, stream: streamOf(l2.gz), expectedDiffId: l2.diffId });
    // merged view: a is now a symlink to the outside: writing below it is refused
    await expectRefused(sn, makeLayer([file('a/f', 'pwned')]), /parent "a" is a symlink/, { parent: r2.chainId });
    // a layer that replaces the symlink with a directory may then fill it
    const l3 = makeLayer([dir('a'), file('a/g', 'ok')]);
    const r3 = await applyLayer(sn, { parent: r2.chainId, stream: streamOf(l3.gz), expectedDiffId: l3.diffId });
    expect(await sentinel.snapshot()).toEqual(before);
    await withMounted(roots, await sn.view('v', r3.chainId), (m) => expect(readdirSync(join(m, 'a'))).toEqual(['g']));
    sn.close();
  });
});
