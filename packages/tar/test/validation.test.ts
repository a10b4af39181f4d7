import { describe, expect, it } from 'vitest';
import { TarFormatError, TarTruncatedError, buildTar, encodeEntryHeader, endOfArchive, padding, type TarError } from '../src/index.js';
import { fixChecksum, readAll } from './helpers.js';

async function failure(tar: Buffer): Promise<TarError> {
  const err = await readAll(tar).then(
    () => {
      throw new Error('the archive was read without complaint');
    },
    (e: unknown) => e,
  );
  return err as TarError;
}

/** One member whose header a test changes (then re-checksums), and the end marker. */
function withHeader(change: (header: Buffer) => void, entry = encodeEntryHeader({ name: 'ok', type: 'file' })): Buffer {
  change(entry);
  fixChecksum(entry, entry.length - 512);
  return Buffer.concat([entry, endOfArchive()]);
}

describe('reader validation', () => {
  const good = buildTar([{ entry: { name: 'f', type: 'file' }, body: 'x'.repeat(2000) }]);

  it('a bad checksum: corrupt data or not a tar at all, with the offset', async () => {
    const corrupt = Buffer.from(good);
    corrupt[10] = 0x41;
    const err = await failure(corrupt);
    expect(err).toBeInstanceOf(TarFormatError);
    expect(err.message).toMatch(/^bad header checksum at offset 0 \(stored \d+, computed \d+\): not a tar archive, or corrupt$/);
    expect(err.offset).toBe(0);
    expect((await failure(Buffer.alloc(2048, 0x41))).message).toMatch(/bad header checksum at offset 0/);
    const second = Buffer.concat([buildTar([{ entry: { name: 'a', type: 'file' }, body: 'a' }], { endMarker: false }), Buffer.alloc(1024, 0x42)]);
    expect((await failure(second)).message).toMatch(/bad header checksum at offset 1024/);
  });

  it('a truncated archive: inside a body, inside a header, between members, empty', async () => {
    const inBody = await failure(good.subarray(0, 1000));
    expect(inBody).toBeInstanceOf(TarTruncatedError);
    expect(inBody.message).toMatch(/^truncated tar archive: the stream ends after 1000 bytes, 1512 bytes short of the data of entry "f"$/);
    expect((await failure(good.subarray(0, 2560 + 100))).message).toMatch(/truncated tar archive: .*inside a header block at offset 2560/);
    expect((await failure(good.subarray(0, 2560))).message).toBe('truncated tar archive: the stream ends at offset 2560 without the end-of-archive marker');
    expect(await failure(Buffer.alloc(0))).toBeInstanceOf(TarTruncatedError);
    const paxCut = buildTar([{ entry: { name: 'p'.repeat(300), type: 'file' } }]).subarray(0, 600);
    expect((await failure(paxCut)).message).toMatch(/truncated tar archive: .*PAX header/);
  });

  it('a lone zero block followed by data, and an extension header with no member after it', async () => {
    const lone = Buffer.concat([Buffer.alloc(512), buildTar([{ entry: { name: 'f', type: 'file' } }])]);
    expect((await failure(lone)).message).toBe('a lone zero block at offset 0 is followed by data: corrupt archive');
    const dangling = buildTar([{ entry: { name: 'n'.repeat(200), type: 'file' } }]).subarray(0, 1024);
    expect((await failure(Buffer.concat([dangling, endOfArchive()]))).message).toBe(
      'extension header at offset 0 is followed by the end of the archive, not by an entry',
    );
  });

  it('names and link targets with a NUL byte, by PAX record or GNU long name', async () => {
    for (const gnuLongNames of [false, true]) {
      const name = await failure(buildTar([{ entry: { name: 'a\0b', type: 'file' }, body: 'x' }], { gnuLongNames }));
      expect(name).toBeInstanceOf(TarFormatError);
      expect(name.message).toBe('entry name "a\\u0000b" contains a NUL byte (header at offset 0)');
      expect(name.entry).toBe('a\0b');
      const link = await failure(buildTar([{ entry: { name: 's', type: 'symlink', linkname: 'x\0y' } }], { gnuLongNames }));
      expect(link.message).toBe('entry "s": link target "x\\u0000y" contains a NUL byte (header at offset 0)');
    }
  });

  it('names that are not UTF-8', async () => {
    const err = await failure(withHeader((h) => (h[0] = 0xff)));
    expect(err.message).toMatch(/^entry name is not valid UTF-8 \(bytes ff6b; header at offset 0\)$/);
  });

  it('unsupported member types: GNU sparse, PAX sparse, unknown typeflags', async () => {
    expect((await failure(withHeader((h) => (h[156] = 'S'.charCodeAt(0))))).message).toBe('entry "ok" at offset 0: unsupported tar entry (GNU sparse file)');
    expect((await failure(withHeader((h) => (h[156] = 'V'.charCodeAt(0))))).message).toBe('entry "ok" at offset 0: unsupported tar entry (type "V")');
    const sparse = buildTar([{ entry: { name: 'sp', type: 'file', pax: { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0' } } }]);
    expect((await failure(sparse)).message).toBe('entry "sp" at offset 0: unsupported tar entry (PAX sparse file)');
  });

  it('bad numeric fields and PAX values', async () => {
    expect((await failure(withHeader((h) => h.write('12x4567\0', 100, 'latin1')))).message).toBe('tar header at offset 0: field mode is not octal: "12x4567"');
    const paxSize = buildTar([{ entry: { name: 'f', type: 'file', pax: { size: '12abc' } } }]);
    expect((await failure(paxSize)).message).toBe('entry "f": PAX size is not a number: "12abc"');
    const negative = withHeader((h) => {
      h.fill(0xff, 124, 136); // base-256 -1
    });
    expect((await failure(negative)).message).toBe('entry "ok" at offset 0: negative size -1');
  });

  it('corrupt PAX records and oversized extension headers', async () => {
    const data = Buffer.from('99 path=short\n');
    const header = encodeEntryHeader({ name: 'PaxHeaders.0/x', type: 'file', typeflag: 'x', size: data.length });
    const member = encodeEntryHeader({ name: 'x', type: 'file' });
    const tar = Buffer.concat([header, data, padding(data.length), member, endOfArchive()]);
    expect((await failure(tar)).message).toBe('corrupt PAX header at offset 0: record length does not match its content');
    const big = encodeEntryHeader({ name: '././@LongLink', type: 'file', typeflag: 'L', size: 2 << 20 });
    expect((await failure(Buffer.concat([big, endOfArchive()]))).message).toBe('GNU long name header at offset 0 holds 2097152 bytes, over the limit of 1048576');
  });

  it('an error after the first entry names the offset of the failing header, not the previous entry', async () => {
    const tar = Buffer.concat([
      buildTar([{ entry: { name: 'first', type: 'file' }, body: 'x' }], { endMarker: false }),
      withHeader((h) => (h[156] = 'Z'.charCodeAt(0)), encodeEntryHeader({ name: 'second', type: 'file' })),
    ]);
    const err = await failure(tar);
    expect(err.message).toBe('entry "second" at offset 1024: unsupported tar entry (type "Z")');
    expect(err).toMatchObject({ offset: 1024, entry: 'second' });
  });
});
