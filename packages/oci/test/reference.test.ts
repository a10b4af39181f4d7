import { describe, expect, it } from 'vitest';
import {
  familiarName,
  familiarString,
  InvalidReferenceError,
  isLocalhostRegistry,
  MAX_NAME_LENGTH,
  parseReference,
  registryHost,
  withDefaultTag,
  withDigest,
  withTag,
} from '../src/index.js';
import { thrown } from './helpers.js';

const HEX = 'a'.repeat(64);
const DIGEST = `sha256:${HEX}`;

describe('parseReference normalisation', () => {
  it.each([
    // input, domain, path, tag, digest, canonical, familiar
    ['busybox', 'docker.io', 'library/busybox', 'latest', undefined, 'docker.io/library/busybox:latest', 'busybox'],
    ['busybox:1.36', 'docker.io', 'library/busybox', '1.36', undefined, 'docker.io/library/busybox:1.36', 'busybox'],
    ['user/img', 'docker.io', 'user/img', 'latest', undefined, 'docker.io/user/img:latest', 'user/img'],
    ['docker.io/busybox', 'docker.io', 'library/busybox', 'latest', undefined, 'docker.io/library/busybox:latest', 'busybox'],
    ['index.docker.io/library/busybox', 'docker.io', 'library/busybox', 'latest', undefined, 'docker.io/library/busybox:latest', 'busybox'],
    ['docker.io/library/busybox:latest', 'docker.io', 'library/busybox', 'latest', undefined, 'docker.io/library/busybox:latest', 'busybox'],
    ['docker.io/library/a/b', 'docker.io', 'library/a/b', 'latest', undefined, 'docker.io/library/a/b:latest', 'library/a/b'],
    ['localhost:5000/a/b:tag', 'localhost:5000', 'a/b', 'tag', undefined, 'localhost:5000/a/b:tag', 'localhost:5000/a/b'],
    ['localhost/a', 'localhost', 'a', 'latest', undefined, 'localhost/a:latest', 'localhost/a'],
    [`127.0.0.1:5000/x@${DIGEST}`, '127.0.0.1:5000', 'x', undefined, DIGEST, `127.0.0.1:5000/x@${DIGEST}`, '127.0.0.1:5000/x'],
    [`busybox:1.36@${DIGEST}`, 'docker.io', 'library/busybox', '1.36', DIGEST, `docker.io/library/busybox:1.36@${DIGEST}`, 'busybox'],
    ['registry.example.com/team/app:v1.2.3-rc_1', 'registry.example.com', 'team/app', 'v1.2.3-rc_1', undefined, 'registry.example.com/team/app:v1.2.3-rc_1', 'registry.example.com/team/app'],
    ['myhost:443/app', 'myhost:443', 'app', 'latest', undefined, 'myhost:443/app:latest', 'myhost:443/app'],
    ['[::1]:5000/foo/bar', '[::1]:5000', 'foo/bar', 'latest', undefined, '[::1]:5000/foo/bar:latest', '[::1]:5000/foo/bar'],
    ['[2001:db8::1]/foo', '[2001:db8::1]', 'foo', 'latest', undefined, '[2001:db8::1]/foo:latest', '[2001:db8::1]/foo'],
    ['a-b.c--d.e9/h', 'a-b.c--d.e9', 'h', 'latest', undefined, 'a-b.c--d.e9/h:latest', 'a-b.c--d.e9/h'],
    ['foo/a--b__c.d_e', 'docker.io', 'foo/a--b__c.d_e', 'latest', undefined, 'docker.io/foo/a--b__c.d_e:latest', 'foo/a--b__c.d_e'],
    // Like Docker: an uppercase first component cannot be a Hub namespace, so it is a host.
    ['MyRegistry/app', 'MyRegistry', 'app', 'latest', undefined, 'MyRegistry/app:latest', 'MyRegistry/app'],
    // Like Docker: without a slash, "localhost:5000" is repository "localhost" with tag "5000".
    ['localhost:5000', 'docker.io', 'library/localhost', '5000', undefined, 'docker.io/library/localhost:5000', 'localhost'],
    ['sha256:abc', 'docker.io', 'library/sha256', 'abc', undefined, 'docker.io/library/sha256:abc', 'sha256'],
  ])('%s', (input, domain, path, tag, digest, canonical, familiar) => {
    const ref = parseReference(input);
    expect({ domain: ref.domain, path: ref.path, tag: ref.tag, digest: ref.digest }).toEqual({ domain, path, tag, digest });
    expect(ref.name).toBe(`${domain}/${path}`);
    expect(ref.string()).toBe(canonical);
    expect(String(ref)).toBe(canonical);
    expect(JSON.stringify(ref)).toBe(JSON.stringify(canonical));
    expect(ref.familiarName).toBe(familiar);
    expect(familiarName(ref)).toBe(familiar);
    // Canonical form parses to itself.
    expect(parseReference(canonical).string()).toBe(canonical);
  });

  it('can leave the tag off', () => {
    const ref = parseReference('busybox', { defaultTag: false });
    expect(ref.tag).toBeUndefined();
    expect(ref.string()).toBe('docker.io/library/busybox');
    expect(withDefaultTag(ref).string()).toBe('docker.io/library/busybox:latest');
    const pinned = parseReference(`busybox@${DIGEST}`, { defaultTag: false });
    expect(withDefaultTag(pinned)).toBe(pinned);
  });

  it('keeps a digest-only reference without a default tag', () => {
    expect(parseReference(`busybox@${DIGEST}`).tag).toBeUndefined();
  });

  it('familiarString, withTag, withDigest', () => {
    expect(familiarString('docker.io/library/busybox:1')).toBe('busybox:1');
    expect(familiarString(`localhost:5000/x@${DIGEST}`)).toBe(`localhost:5000/x@${DIGEST}`);
    expect(familiarName('docker.io/user/img:3')).toBe('user/img');
    const ref = parseReference('busybox');
    expect(withTag(ref, 'v2').string()).toBe('docker.io/library/busybox:v2');
    expect(withDigest(ref, DIGEST).string()).toBe(`docker.io/library/busybox:latest@${DIGEST}`);
    expect(() => withTag(ref, '-bad')).toThrow(InvalidReferenceError);
    expect(() => withDigest(ref, 'sha256:1')).toThrow(/invalid digest "sha256:1": sha256 hex must be 64 characters/);
  });

  it('cannot be constructed without validation', () => {
    const Ctor = parseReference('busybox').constructor as new (...args: unknown[]) => unknown;
    expect(() => new Ctor(Symbol('x'), { domain: 'NOT VALID', path: '!!' })).toThrow(/use parseReference/);
  });

  it('references are immutable', () => {
    const ref = parseReference('busybox');
    expect(() => {
      (ref as { tag: string | undefined }).tag = 'x';
    }).toThrow(TypeError);
  });
});

describe('parseReference errors', () => {
  it.each([
    ['', 'empty reference'],
    ['Busybox', 'repository name "library/Busybox" must be lowercase'],
    ['docker.io/Library/busybox', 'repository name "Library/busybox" must be lowercase'],
    ['user/IMG:tag', 'repository name "user/IMG" must be lowercase'],
    ['localhost:5000/A/b', 'repository name "A/b" must be lowercase'],
    ['a//b', 'empty path component at position 2 of "a//b"'],
    ['localhost:5000/a/', 'empty path component at position 2 of "a/"'],
    ['/a', 'empty path component at position 1 of "/a"'],
    ['a b', 'invalid character " " in path component "a b"'],
    ['foo/bar!', 'invalid character "!" in path component "bar!"'],
    ['foo/b$r:tag', 'invalid character "$" in path component "b$r"'],
    ['-foo', 'invalid path component "-foo": only lowercase letters and digits'],
    ['foo/bar.', 'invalid path component "bar.": only lowercase letters and digits'],
    ['foo/a...b', 'invalid path component "a...b"'],
    ['foo/a___b', 'invalid path component "a___b"'],
    ['busybox:', 'empty tag after ":"'],
    ['busybox:-x', 'invalid tag "-x"'],
    ['busybox:.x', 'invalid tag ".x"'],
    ['busybox:a+b', 'invalid tag "a+b"'],
    [`busybox:${'t'.repeat(129)}`, 'tag is 129 characters, over the limit of 128'],
    ['busybox@', 'empty digest after "@"'],
    ['busybox@sha256:abc', 'invalid digest "sha256:abc": sha256 hex must be 64 characters, got 3'],
    [`busybox@sha256:${'A'.repeat(64)}`, 'hex must be lowercase'],
    [`busybox@md5:${'a'.repeat(32)}`, 'unsupported algorithm "md5"'],
    [`busybox@${DIGEST}@${DIGEST}`, 'invalid digest'],
    [HEX, 'a 64-character hexadecimal string is an image ID'],
    [':tag', 'missing repository name'],
    ['@' + DIGEST, 'missing repository name'],
    ['exa_mple.com/a', 'invalid registry host "exa_mple.com"'],
    ['-host.com/a', 'invalid registry host "-host.com"'],
    ['host.com:/a', 'invalid registry host "host.com:"'],
    ['host.com:99999/a', 'invalid port 99999 in registry host "host.com:99999"'],
    ['[::1/foo', 'invalid registry host "[::1"'],
    ['[fe80::1%eth0]:5000/a', 'invalid registry host "[fe80::1%eth0]:5000"'],
  ])('%s', (input, message) => {
    const err = thrown(() => parseReference(input));
    expect(err).toBeInstanceOf(InvalidReferenceError);
    expect((err as InvalidReferenceError).code).toBe('INVALID_REFERENCE');
    expect((err as InvalidReferenceError).input).toBe(input);
    expect(err.message).toContain(`invalid reference ${JSON.stringify(input)}: `);
    expect(err.message).toContain(message);
  });

  it('limits the repository name (domain/path) to 255 characters', () => {
    expect(MAX_NAME_LENGTH).toBe(255);
    const domain = 'registry.example.com';
    const okPath = 'a'.repeat(MAX_NAME_LENGTH - domain.length - 1);
    expect(parseReference(`${domain}/${okPath}`).name).toHaveLength(255);
    const err = thrown(() => parseReference(`${domain}/${okPath}a`));
    expect(err).toBeInstanceOf(InvalidReferenceError);
    expect(err.message).toContain('is 256 characters, over the limit of 255');
    // For Hub names the normalised name counts: docker.io/library/ adds 18 characters.
    expect(() => parseReference('b'.repeat(240))).toThrow('is 258 characters, over the limit of 255');
    // The tag does not count towards the name.
    expect(parseReference(`${domain}/${okPath}:${'t'.repeat(128)}`).tag).toHaveLength(128);
  });
});

describe('registry hosts', () => {
  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['LOCALHOST:5000', true],
    ['127.0.0.1', true],
    ['127.0.0.1:5000', true],
    ['127.1.2.3:80', true],
    ['127.255.255.255', true],
    ['127.256.0.1', false],
    ['[::1]', true],
    ['[::1]:5000', true],
    ['::1', true],
    ['[0:0:0:0:0:0:0:1]:5000', true],
    ['[::2]:5000', false],
    ['128.0.0.1', false],
    ['10.0.0.1:5000', false],
    ['localhost.example.com', false],
    ['mylocalhost:5000', false],
    ['docker.io', false],
  ])('isLocalhostRegistry(%s) = %s', (domain, expected) => {
    expect(isLocalhostRegistry(domain)).toBe(expected);
  });

  it('maps Docker Hub to its API host only', () => {
    expect(registryHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryHost('localhost:5000')).toBe('localhost:5000');
  });
});
