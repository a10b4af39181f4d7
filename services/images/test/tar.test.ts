import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TarWriter, readTar } from '../src/archive/tar.js';
import { tempDir } from './helpers.js';

async function collect(tarBytes: Buffer) {
  const out: { name: string; type: string; linkname: string; data: string }[] = [];
  for await (const e of readTar([tarBytes])) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c);
    out.push({ name: e.header.name, type: e.header.type, linkname: e.header.linkname, data: Buffer.concat(chunks).toString() });
  }
  return out;
}

describe('tar', () => {
  it('writes archives GNU tar reads (long names via PAX, symlinks, directories) and reads them back', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(130)}.txt`;
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const tar = new TarWriter(out);
    await tar.addDirectory('dir');
    await tar.addFile('dir/a.txt', 5, Buffer.from('hello'));
    await tar.addFile(long, 3, (async function* () {
      yield Buffer.from('x');
      yield Buffer.from('yz');
    })());
    await tar.addSymlink('link', 'dir/a.txt');
    await tar.finish();
    out.end();
    const bytes = Buffer.concat(chunks);
    expect(bytes.length % 512).toBe(0);

    const dir = tempDir('berth-tar-');
    try {
      writeFileSync(join(dir, 'x.tar'), bytes);
      const listing = execFileSync('tar', ['-tvf', join(dir, 'x.tar')]).toString();
      expect(listing).toContain(long);
      mkdirSync(join(dir, 'out'));
      execFileSync('tar', ['-xf', join(dir, 'x.tar'), '-C', join(dir, 'out')]);
      expect(readFileSync(join(dir, 'out', long), 'utf8')).toBe('xyz');
      expect(readFileSync(join(dir, 'out', 'link'), 'utf8')).toBe('hello');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await collect(bytes)).toEqual([
      { name: 'dir/', type: 'directory', linkname: '', data: '' },
      { name: 'dir/a.txt', type: 'file', linkname: '', data: 'hello' },
      { name: long, type: 'file', linkname: '', data: 'xyz' },
      { name: 'link', type: 'symlink', linkname: 'dir/a.txt', data: '' },
    ]);
  });

  it('reads what GNU tar writes, including GNU long names, and skips unread bodies', async () => {
    const dir = tempDir('berth-tar-');
    try {
      const src = join(dir, 'src');
      const long = 'n'.repeat(150);
      mkdirSync(join(src, 'sub'), { recursive: true });
      writeFileSync(join(src, 'sub', long), 'long name body');
      writeFileSync(join(src, 'big'), Buffer.alloc(100_000, 1));
      symlinkSync('big', join(src, 'ln'));
      execFileSync('tar', ['--format=gnu', '-C', src, '-cf', join(dir, 'g.tar'), 'big', 'ln', 'sub']);
      const names: string[] = [];
      for await (const e of readTar([readFileSync(join(dir, 'g.tar'))])) names.push(`${e.header.type}:${e.header.name}:${e.header.size}`);
      expect(names).toEqual(['file:big:100000', 'symlink:ln:0', 'directory:sub/:0', `file:sub/${long}:14`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects truncated and corrupt archives clearly', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const tar = new TarWriter(out);
    await tar.addFile('f', 1000, Buffer.alloc(1000, 2));
    await tar.finish();
    const bytes = Buffer.concat(chunks);
    await expect(collect(bytes.subarray(0, 700))).rejects.toThrow(/truncated tar archive/);
    const corrupt = Buffer.from(bytes);
    corrupt[0] = 0x7a;
    await expect(collect(corrupt)).rejects.toThrow(/bad header checksum at offset 0/);
  });
});
