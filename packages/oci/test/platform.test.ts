import { describe, expect, it } from 'vitest';
import {
  availablePlatforms,
  formatPlatform,
  hostPlatform,
  InvalidPlatformError,
  MediaType,
  NoMatchingPlatformError,
  normalizePlatform,
  parseIndex,
  parsePlatform,
  platformFromNode,
  platformMatches,
  selectManifest,
  type Index,
  type Platform,
} from '../src/index.js';
import { thrown } from './helpers.js';

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}` as const;
const entry = (n: number, platform?: Platform, mediaType: string = MediaType.OciManifest) => ({
  mediaType,
  digest: digest(n),
  size: 100 + n,
  ...(platform ? { platform } : {}),
});

describe('host platform', () => {
  it.each([
    ['linux', 'x64', {}, { os: 'linux', architecture: 'amd64' }],
    ['linux', 'ia32', {}, { os: 'linux', architecture: '386' }],
    ['linux', 'arm64', {}, { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    ['linux', 'arm', {}, { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['linux', 'arm', { armVersion: '6' }, { os: 'linux', architecture: 'arm', variant: 'v6' }],
    ['linux', 'ppc64', { littleEndian: true }, { os: 'linux', architecture: 'ppc64le' }],
    ['linux', 'ppc64', { littleEndian: false }, { os: 'linux', architecture: 'ppc64' }],
    ['linux', 's390x', {}, { os: 'linux', architecture: 's390x' }],
    ['linux', 'riscv64', {}, { os: 'linux', architecture: 'riscv64' }],
    ['linux', 'loong64', {}, { os: 'linux', architecture: 'loong64' }],
    ['linux', 'mips64el', {}, { os: 'linux', architecture: 'mips64le' }],
    ['linux', 'mipsel', {}, { os: 'linux', architecture: 'mipsle' }],
    ['darwin', 'arm64', {}, { os: 'darwin', architecture: 'arm64', variant: 'v8' }],
    ['win32', 'x64', {}, { os: 'windows', architecture: 'amd64' }],
  ])('%s/%s %o', (nodePlatform, arch, options, expected) => {
    expect(platformFromNode(nodePlatform, arch, options)).toEqual(expected);
  });

  it('hostPlatform reflects this process', () => {
    const host = hostPlatform();
    expect(host).toEqual(platformFromNode(process.platform, process.arch, { littleEndian: host.architecture !== 'ppc64' }));
    expect(host.os).toBe('linux');
  });
});

describe('parsePlatform / formatPlatform / normalizePlatform', () => {
  it.each([
    ['linux/amd64', 'linux/amd64'],
    ['linux/x86_64', 'linux/amd64'],
    ['Linux/AMD64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['linux/arm64', 'linux/arm64/v8'],
    ['linux/arm64/v8', 'linux/arm64/v8'],
    ['linux/aarch64', 'linux/arm64/v8'],
    ['linux/arm64/8', 'linux/arm64/v8'],
    ['linux/arm64/v9.0', 'linux/arm64/v9'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/i386', 'linux/386'],
    ['linux/ppc64le', 'linux/ppc64le'],
    ['linux/s390x', 'linux/s390x'],
    [' linux/riscv64 ', 'linux/riscv64'],
    ['windows/amd64', 'windows/amd64'],
  ])('%s -> %s', (spec, expected) => {
    expect(formatPlatform(parsePlatform(spec))).toBe(expected);
  });

  it('fills a lone os or arch from the host', () => {
    const host = normalizePlatform(hostPlatform());
    expect(parsePlatform('linux')).toEqual(host);
    expect(parsePlatform('arm64')).toEqual({ os: host.os, architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('x86_64')).toEqual({ os: host.os, architecture: 'amd64' });
  });

  it.each([
    ['', 'empty platform'],
    ['linux//amd64', 'empty component at position 2'],
    ['linux/', 'empty component at position 2'],
    ['linux/amd64/v2/x', 'expected os[/arch[/variant]], got 4 components'],
    ['linux/am d64', 'component "am d64" may contain only letters'],
    ['linux/amd64;rm', 'component "amd64;rm" may contain only letters'],
    ['plan10', '"plan10" is neither a known operating system nor architecture'],
  ])('rejects %j', (spec, message) => {
    const err = thrown(() => parsePlatform(spec));
    expect(err).toBeInstanceOf(InvalidPlatformError);
    expect(err.message).toBe(`invalid platform ${JSON.stringify(spec)}: ${message}${message.endsWith('letters') ? ', digits, "_", "." and "-"' : ''}`);
  });

  it('formats with and without variant', () => {
    expect(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v5' })).toBe('linux/arm/v5');
    expect(formatPlatform({ os: 'linux', architecture: 'amd64' })).toBe('linux/amd64');
  });
});

describe('platformMatches', () => {
  const p = (os: string, architecture: string, variant?: string): Platform =>
    variant === undefined ? { os, architecture } : { os, architecture, variant };

  it.each([
    [p('linux', 'arm64'), p('linux', 'arm64', 'v8'), true],
    [p('linux', 'arm64', 'v8'), p('linux', 'arm64'), true],
    [p('linux', 'aarch64'), p('linux', 'arm64'), true],
    [p('linux', 'arm64'), p('linux', 'arm64', 'v9'), false],
    [p('linux', 'arm64', 'v9'), p('linux', 'arm64', 'v8'), true],
    [p('linux', 'amd64'), p('linux', 'amd64', 'v3'), true],
    [p('linux', 'amd64', 'v2'), p('linux', 'amd64', 'v3'), false],
    [p('linux', 'amd64', 'v3'), p('linux', 'amd64', 'v2'), true],
    [p('linux', 'amd64', 'v3'), p('linux', 'amd64'), true],
    [p('linux', 'amd64', 'v1'), p('linux', 'amd64', 'v2'), false],
    [p('linux', 'x86_64'), p('linux', 'amd64'), true],
    [p('linux', 'arm', 'v7'), p('linux', 'arm', 'v6'), true],
    [p('linux', 'arm'), p('linux', 'arm', 'v5'), true],
    [p('linux', 'arm', 'v6'), p('linux', 'arm', 'v7'), false],
    [p('linux', 'arm', 'v6'), p('linux', 'arm'), false],
    [p('linux', 'arm64'), p('linux', 'arm', 'v7'), false],
    [p('linux', 'amd64'), p('windows', 'amd64'), false],
    [p('linux', 'amd64'), p('linux', 'arm64'), false],
    [p('linux', 'riscv64'), p('linux', 'riscv64', 'rva22'), true],
    [p('linux', 'riscv64', 'rva22'), p('linux', 'riscv64'), false],
    [p('linux', 'amd64'), p('unknown', 'unknown'), false],
  ])('want %o have %o -> %s', (want, have, expected) => {
    expect(platformMatches(want, have)).toBe(expected);
  });
});

describe('selectManifest', () => {
  const multi: Index = parseIndex(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        entry(1, { os: 'linux', architecture: 'amd64' }),
        entry(2, { os: 'linux', architecture: 'amd64', variant: 'v3' }),
        entry(3, { os: 'linux', architecture: 'arm', variant: 'v6' }),
        entry(4, { os: 'linux', architecture: 'arm', variant: 'v7' }),
        entry(5, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
        entry(6, { os: 'unknown', architecture: 'unknown' }),
        entry(7, { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' }),
      ],
    }),
  );

  it.each([
    ['linux/amd64', 1],
    ['linux/x86_64', 1],
    ['linux/amd64/v3', 2],
    ['linux/amd64/v4', 2],
    ['linux/amd64/v2', 1],
    ['linux/arm64', 5],
    ['linux/aarch64', 5],
    ['linux/arm64/v8', 5],
    ['linux/arm', 4],
    ['linux/arm/v7', 4],
    ['linux/arm/v6', 3],
    ['windows/amd64', 7],
  ])('%s -> entry %i', (want, n) => {
    expect(selectManifest(multi, want).digest).toBe(digest(n));
  });

  it('takes a Platform object and defaults to the host', () => {
    expect(selectManifest(multi, { os: 'linux', architecture: 'arm64' }).digest).toBe(digest(5));
    const host = formatPlatform(normalizePlatform(hostPlatform()));
    expect(formatPlatform(normalizePlatform(selectManifest(multi).platform!))).toBe(host);
  });

  it('prefers the most basic amd64 when no level is asked, whatever the order', () => {
    const idx: Index = { schemaVersion: 2, manifests: [entry(2, { os: 'linux', architecture: 'amd64', variant: 'v3' }), entry(8, { os: 'linux', architecture: 'amd64', variant: 'v2' })] };
    expect(selectManifest(idx, 'linux/amd64').digest).toBe(digest(8));
  });

  it('prefers an exact match to a platform-less entry, and falls back to it', () => {
    const idx: Index = { schemaVersion: 2, manifests: [entry(9), entry(1, { os: 'linux', architecture: 'amd64' })] };
    expect(selectManifest(idx, 'linux/amd64').digest).toBe(digest(1));
    expect(selectManifest(idx, 'linux/s390x').digest).toBe(digest(9));
    const notAnImage: Index = { schemaVersion: 2, manifests: [entry(9, undefined, 'application/vnd.example.sbom')] };
    expect(() => selectManifest(notAnImage, 'linux/amd64')).toThrow(NoMatchingPlatformError);
  });

  it('says which platforms are available when none matches', () => {
    const err = thrown(() => selectManifest(multi, 'linux/riscv64'));
    expect(err).toBeInstanceOf(NoMatchingPlatformError);
    const e = err as NoMatchingPlatformError;
    expect(e.code).toBe('NO_MATCHING_PLATFORM');
    expect(e.wanted).toBe('linux/riscv64');
    expect(e.available).toEqual([
      'linux/amd64',
      'linux/amd64/v3',
      'linux/arm/v6',
      'linux/arm/v7',
      'linux/arm64/v8',
      'unknown/unknown',
      'windows/amd64',
    ]);
    expect(e.message).toBe(
      'no manifest matches platform linux/riscv64; available: linux/amd64, linux/amd64/v3, linux/arm/v6, linux/arm/v7, linux/arm64/v8, unknown/unknown, windows/amd64',
    );
    expect(() => selectManifest(multi, 'linux/arm/v5')).toThrow('no manifest matches platform linux/arm/v5; available: ');
    expect(() => selectManifest({ schemaVersion: 2, manifests: [] }, 'linux/amd64')).toThrow(
      'no manifest matches platform linux/amd64; available: (none)',
    );
  });

  it('availablePlatforms dedupes and marks platform-less entries', () => {
    const idx: Index = { schemaVersion: 2, manifests: [entry(1, { os: 'linux', architecture: 'amd64' }), entry(2, { os: 'linux', architecture: 'amd64' }), entry(3)] };
    expect(availablePlatforms(idx)).toEqual(['linux/amd64', `(no platform: ${MediaType.OciManifest})`]);
  });
});
