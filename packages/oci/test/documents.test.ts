import { describe, expect, it } from 'vitest';
import {
  digestOf,
  DocumentTooLargeError,
  InvalidDocumentError,
  MAX_MANIFEST_BYTES,
  MediaType,
  parseDescriptor,
  parseImageConfig,
  parseIndex,
  parseManifest,
  parseManifestOrIndex,
  UnsupportedMediaTypeError,
} from '../src/index.js';
import { thrown } from './helpers.js';

const D1 = 'sha256:' + '1'.repeat(64);
const D2 = 'sha256:' + '2'.repeat(64);
const D3 = 'sha256:' + '3'.repeat(64);

const layer = (digest: string, mediaType: string = MediaType.OciLayerGzip) => ({ mediaType, digest, size: 100 });
const ociManifest = () => ({
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: { mediaType: MediaType.OciConfig, digest: D1, size: 10 },
  layers: [layer(D2), layer(D3), layer(D1)],
  annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
});
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function invalid(fn: () => unknown): InvalidDocumentError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(InvalidDocumentError);
  expect((err as InvalidDocumentError).code).toBe('INVALID_DOCUMENT');
  return err as InvalidDocumentError;
}

describe('parseManifest', () => {
  it('parses an OCI manifest', () => {
    const m = parseManifest(json(ociManifest()));
    expect(m.schemaVersion).toBe(2);
    expect(m.mediaType).toBe(MediaType.OciManifest);
    expect(m.config.digest).toBe(D1);
    expect(m.layers.map((l) => l.digest)).toEqual([D2, D3, D1]);
    expect(m.annotations).toEqual({ 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' });
  });

  it('parses a Docker schema 2 manifest (as a string too)', () => {
    const doc = {
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: { mediaType: MediaType.DockerConfig, size: 1469, digest: D1 },
      layers: [
        { mediaType: MediaType.DockerLayerGzip, size: 2, digest: D2 },
        { mediaType: MediaType.DockerLayerForeignGzip, size: 3, digest: D3, urls: ['https://example.invalid/x'] },
      ],
    };
    const m = parseManifest(JSON.stringify(doc));
    expect(m.mediaType).toBe(MediaType.DockerManifest);
    expect(m.layers[1]?.urls).toEqual(['https://example.invalid/x']);
  });

  it('accepts an OCI manifest without mediaType, an empty layer list, subject and artifactType', () => {
    const doc: Record<string, unknown> = { ...ociManifest(), layers: [], artifactType: 'application/vnd.example+type' };
    delete doc.mediaType;
    doc.subject = { mediaType: MediaType.OciManifest, digest: D2, size: 5 };
    const m = parseManifest(json(doc));
    expect(m.mediaType).toBeUndefined();
    expect(m.layers).toEqual([]);
    expect(m.subject?.digest).toBe(D2);
    expect(m.artifactType).toBe('application/vnd.example+type');
  });

  it('names the field path of a bad layer digest', () => {
    const doc = ociManifest();
    doc.layers[2] = layer('sha256:xyz');
    expect(invalid(() => parseManifest(json(doc))).message).toBe(
      'manifest.layers[2].digest: invalid digest "sha256:xyz": hex part contains characters other than 0-9a-f',
    );
    doc.layers[2] = layer('sha256:' + 'A'.repeat(64));
    expect(invalid(() => parseManifest(json(doc))).message).toMatch(
      /^manifest\.layers\[2\]\.digest: invalid digest "sha256:A+": hex must be lowercase$/,
    );
  });

  it.each<[string, (d: Record<string, unknown>) => void, string]>([
    ['missing config', (d) => delete d.config, 'manifest.config: missing required field'],
    ['missing layers', (d) => delete d.layers, 'manifest.layers: missing required field'],
    ['layers not an array', (d) => (d.layers = {}), 'manifest.layers: expected an array, got an object'],
    ['config not an object', (d) => (d.config = 'x'), 'manifest.config: expected an object, got string "x"'],
    ['schemaVersion missing', (d) => delete d.schemaVersion, 'manifest.schemaVersion: missing required field (must be 2)'],
    ['schemaVersion 1', (d) => (d.schemaVersion = 1), 'manifest.schemaVersion: is 1: Docker schema 1 manifests are not supported'],
    ['schemaVersion 3', (d) => (d.schemaVersion = 3), 'manifest.schemaVersion: must be 2, got number 3'],
    ['schemaVersion "2"', (d) => (d.schemaVersion = '2'), 'manifest.schemaVersion: must be 2, got string "2"'],
    ['negative size', (d) => ((d.layers as object[])[0] = { ...layer(D1), size: -1 }), 'manifest.layers[0].size: expected a non-negative integer, got number -1'],
    ['fractional size', (d) => ((d.layers as object[])[1] = { ...layer(D1), size: 1.5 }), 'manifest.layers[1].size: expected a non-negative integer, got number 1.5'],
    ['string size', (d) => ((d.layers as object[])[1] = { ...layer(D1), size: '10' }), 'manifest.layers[1].size: expected a non-negative integer, got string "10"'],
    ['missing size', (d) => ((d.layers as object[])[0] = { mediaType: MediaType.OciLayer, digest: D1 }), 'manifest.layers[0].size: missing required field'],
    ['missing digest', (d) => (d.config = { mediaType: MediaType.OciConfig, size: 1 }), 'manifest.config.digest: missing required field'],
    ['numeric digest', (d) => (d.config = { mediaType: MediaType.OciConfig, size: 1, digest: 5 }), 'manifest.config.digest: expected a digest string, got number 5'],
    ['missing mediaType', (d) => ((d.layers as object[])[0] = { digest: D1, size: 1 }), 'manifest.layers[0].mediaType: missing required field'],
    ['empty mediaType', (d) => ((d.layers as object[])[0] = { ...layer(D1, '') }), 'manifest.layers[0].mediaType: must not be empty'],
    ['malformed mediaType', (d) => ((d.layers as object[])[0] = layer(D1, 'not a media type')), 'manifest.layers[0].mediaType: malformed media type "not a media type"'],
    ['bad annotation', (d) => (d.annotations = { a: 1 }), 'manifest.annotations.a: expected a string, got number 1'],
    ['bad url', (d) => ((d.layers as object[])[0] = { ...layer(D1), urls: ['not a url'] }), 'manifest.layers[0].urls[0]: not a valid URL: "not a url"'],
    ['platform without os', (d) => (d.config = { mediaType: MediaType.OciConfig, digest: D1, size: 1, platform: { architecture: 'amd64' } }), 'manifest.config.platform.os: missing required field'],
    ['bad os.version', (d) => (d.config = { mediaType: MediaType.OciConfig, digest: D1, size: 1, platform: { architecture: 'amd64', os: 'windows', 'os.version': 10 } }), 'manifest.config.platform["os.version"]: expected a string, got number 10'],
  ])('rejects %s', (_name, mutate, message) => {
    const doc = ociManifest() as unknown as Record<string, unknown>;
    mutate(doc);
    const err = invalid(() => parseManifest(json(doc)));
    expect(err.message).toBe(message);
  });

  it('rejects non-JSON, invalid UTF-8 and non-object documents', () => {
    expect(invalid(() => parseManifest('{"schemaVersion": 2,')).message).toMatch(/^manifest: invalid JSON: /);
    expect(invalid(() => parseManifest(new Uint8Array([0x7b, 0xff, 0x7d]))).message).toBe('manifest: not valid UTF-8');
    expect(invalid(() => parseManifest('[]')).message).toBe('manifest: expected an object, got an array');
    expect(invalid(() => parseManifest('null')).message).toBe('manifest: expected an object, got null');
    expect(invalid(() => parseManifest('')).message).toMatch(/^manifest: invalid JSON/);
  });

  it('refuses index, schema 1, artifact and unknown media types', () => {
    const withType = (mediaType: string) => json({ ...ociManifest(), mediaType });
    for (const [mediaType, what] of [
      [MediaType.OciIndex, 'this is an index'],
      [MediaType.DockerManifestList, 'this is an index'],
      [MediaType.DockerSchema1Manifest, 'Docker schema 1, which is not supported'],
      [MediaType.OciArtifactManifest, 'OCI artifact manifest, which is not supported'],
      [MediaType.OciConfig, 'this is an image config'],
      ['application/vnd.example.thing', 'this is an unknown media type'],
    ] as const) {
      const err = thrown(() => parseManifest(withType(mediaType)));
      expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
      expect(err.message).toContain(`unsupported media type "${mediaType}": manifest.mediaType: expected an OCI image manifest or Docker schema 2 manifest`);
      expect(err.message).toContain(what);
    }
  });

  it('enforces the size bound before parsing', () => {
    expect(MAX_MANIFEST_BYTES).toBe(4 * 1024 * 1024);
    const doc = ociManifest() as unknown as Record<string, unknown>;
    const base = json(doc).length;
    // Pad with an annotation so the document is exactly at, then just over, the limit.
    const atLimit = json({ ...doc, annotations: { pad: '' } });
    const overhead = atLimit.length - base;
    const exact = json({ ...doc, annotations: { pad: 'x'.repeat(MAX_MANIFEST_BYTES - base - overhead) } });
    expect(exact.length).toBe(MAX_MANIFEST_BYTES);
    expect(parseManifest(exact).layers).toHaveLength(3);
    const over = Buffer.concat([exact, Buffer.from(' ')]);
    const err = thrown(() => parseManifest(over));
    expect(err).toBeInstanceOf(DocumentTooLargeError);
    expect(err.message).toBe(`manifest is ${MAX_MANIFEST_BYTES + 1} bytes, over the limit of ${MAX_MANIFEST_BYTES} bytes`);
    // Garbage over the limit is refused for its size, not parsed.
    expect(() => parseManifest(Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x7b))).toThrow(DocumentTooLargeError);
    expect(() => parseManifest(json(doc), { maxBytes: base - 1 })).toThrow(`over the limit of ${base - 1} bytes`);
  });
});

describe('parseDescriptor', () => {
  it('validates embedded data against digest and size', () => {
    const content = Buffer.from('{"hello":"world"}');
    const good = { mediaType: 'application/json', digest: digestOf(content), size: content.length, data: content.toString('base64') };
    expect(parseDescriptor(good).data).toBe(good.data);
    expect(invalid(() => parseDescriptor({ ...good, size: 3 })).message).toBe(
      `descriptor.data: decodes to ${content.length} bytes but the descriptor's size is 3`,
    );
    expect(invalid(() => parseDescriptor({ ...good, digest: D1 })).message).toBe(
      `descriptor.data: content digest ${digestOf(content)} does not match the descriptor's digest ${D1}`,
    );
    expect(invalid(() => parseDescriptor({ ...good, data: 'not base64!' })).message).toBe('descriptor.data: not valid base64');
  });

  it('keeps platform fields and drops an empty variant', () => {
    const d = parseDescriptor(
      {
        mediaType: MediaType.OciManifest,
        digest: D1,
        size: 1,
        platform: { architecture: 'arm64', os: 'linux', variant: 'v8', 'os.features': ['x'], features: ['y'] },
      },
      'index.manifests[0]',
    );
    expect(d.platform).toEqual({ architecture: 'arm64', os: 'linux', variant: 'v8', 'os.features': ['x'], features: ['y'] });
    const e = parseDescriptor({ mediaType: MediaType.OciManifest, digest: D1, size: 1, platform: { architecture: 'amd64', os: 'linux', variant: '' } });
    expect(e.platform).toEqual({ architecture: 'amd64', os: 'linux' });
  });

  it('keeps a "__proto__" annotation as data', () => {
    const d = parseDescriptor(JSON.parse(`{"mediaType":"a/b","digest":"${D1}","size":1,"annotations":{"__proto__":"x","k":"v"}}`));
    expect(Object.keys(d.annotations ?? {})).toEqual(['__proto__', 'k']);
    expect(Object.getPrototypeOf(d.annotations)).toBe(Object.prototype);
  });

  it('uses the given path and supports sha512', () => {
    expect(invalid(() => parseDescriptor({}, 'x.y[3]')).message).toBe('x.y[3].mediaType: missing required field');
    const sha512 = digestOf('abc', 'sha512');
    expect(parseDescriptor({ mediaType: 'a/b', digest: sha512, size: 3 }).digest).toBe(sha512);
    expect(invalid(() => parseDescriptor({ mediaType: 'a/b', digest: 'md5:' + 'a'.repeat(32), size: 3 })).message).toBe(
      `descriptor.digest: invalid digest "md5:${'a'.repeat(32)}": unsupported algorithm "md5" (supported: sha256, sha512)`,
    );
  });
});

describe('parseIndex', () => {
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifestList,
    manifests: [
      { mediaType: MediaType.DockerManifest, digest: D1, size: 528, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: MediaType.DockerManifest, digest: D2, size: 528, platform: { architecture: 'arm', os: 'linux', variant: 'v7' } },
    ],
  };

  it('parses a Docker manifest list and an OCI index', () => {
    const i = parseIndex(json(index));
    expect(i.manifests).toHaveLength(2);
    expect(i.manifests[1]?.platform?.variant).toBe('v7');
    const oci = parseIndex(json({ schemaVersion: 2, manifests: [] }));
    expect(oci.mediaType).toBeUndefined();
    expect(oci.manifests).toEqual([]);
  });

  it('rejects bad shapes with paths', () => {
    expect(invalid(() => parseIndex(json({ schemaVersion: 2 }))).message).toBe('index.manifests: missing required field');
    expect(invalid(() => parseIndex(json({ ...index, manifests: [{ ...index.manifests[0], size: null }] }))).message).toBe(
      'index.manifests[0].size: expected a non-negative integer, got null',
    );
    expect(invalid(() => parseIndex(json({ ...index, schemaVersion: 1 }))).message).toMatch(/index\.schemaVersion: is 1/);
    expect(() => parseIndex(json({ ...index, mediaType: MediaType.OciManifest }))).toThrow(
      /index\.mediaType: expected an OCI image index or Docker manifest list, this is a manifest/,
    );
    expect(() => parseIndex(Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20))).toThrow(/^index is 4194305 bytes, over the limit/);
  });
});

describe('parseImageConfig', () => {
  const ociConfig = {
    created: '2024-05-01T10:00:00Z',
    architecture: 'arm64',
    variant: 'v8',
    os: 'linux',
    config: {
      User: '1000:1000',
      ExposedPorts: { '8080/tcp': {} },
      Env: ['PATH=/usr/bin:/bin', 'A=b=c'],
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo hi'],
      Volumes: { '/data': {} },
      WorkingDir: '/srv',
      Labels: { 'org.example': 'yes' },
      StopSignal: 'SIGQUIT',
    },
    rootfs: { type: 'layers', diff_ids: [D1, D2] },
    history: [{ created: '2024-05-01T10:00:00Z', created_by: 'ADD x /' }, { empty_layer: true, comment: 'meta' }],
  };

  it('parses an OCI config with every runtime field', () => {
    const c = parseImageConfig(json(ociConfig));
    expect(c).toEqual(ociConfig);
  });

  it('parses a Docker config with nulls and extra fields, dropping what berth does not use', () => {
    const docker = {
      architecture: 'amd64',
      os: 'linux',
      docker_version: '24.0.0',
      container_config: { Hostname: 'x' },
      config: {
        Hostname: '',
        User: '',
        AttachStdin: false,
        ExposedPorts: null,
        Env: ['PATH=/bin'],
        Cmd: ['sh'],
        Entrypoint: null,
        Volumes: null,
        WorkingDir: '',
        Labels: null,
        OnBuild: null,
        Image: 'sha256:abc',
      },
      rootfs: { type: 'layers', diff_ids: [D3] },
    };
    const c = parseImageConfig(json(docker));
    expect(c).toEqual({
      architecture: 'amd64',
      os: 'linux',
      config: { User: '', Env: ['PATH=/bin'], Cmd: ['sh'], WorkingDir: '' },
      rootfs: { type: 'layers', diff_ids: [D3] },
    });
  });

  it.each<[string, (c: Record<string, unknown>) => void, string]>([
    ['missing architecture', (c) => delete c.architecture, 'config.architecture: missing required field'],
    ['missing os', (c) => delete c.os, 'config.os: missing required field'],
    ['missing rootfs', (c) => delete c.rootfs, 'config.rootfs: missing required field'],
    ['rootfs type', (c) => (c.rootfs = { type: 'tarballs', diff_ids: [] }), 'config.rootfs.type: must be "layers", got string "tarballs"'],
    ['diff_ids missing', (c) => (c.rootfs = { type: 'layers' }), 'config.rootfs.diff_ids: missing required field'],
    ['bad diff id', (c) => (c.rootfs = { type: 'layers', diff_ids: [D1, 'sha256:123'] }), 'config.rootfs.diff_ids[1]: invalid digest "sha256:123": sha256 hex must be 64 characters, got 3'],
    ['Env not strings', (c) => (c.config = { Env: ['A=1', 2] }), 'config.config.Env[1]: expected a string, got number 2'],
    ['Cmd a string', (c) => (c.config = { Cmd: 'echo hi' }), 'config.config.Cmd: expected an array, got string "echo hi"'],
    ['Labels not strings', (c) => (c.config = { Labels: { a: true } }), 'config.config.Labels.a: expected a string, got boolean true'],
    ['ExposedPorts array', (c) => (c.config = { ExposedPorts: ['80/tcp'] }), 'config.config.ExposedPorts: expected an object, got an array'],
    ['history entry', (c) => (c.history = [{}, 'x']), 'config.history[1]: expected an object, got string "x"'],
    ['empty_layer', (c) => (c.history = [{ empty_layer: 'yes' }]), 'config.history[0].empty_layer: expected a boolean, got string "yes"'],
  ])('rejects %s', (_name, mutate, message) => {
    const doc = structuredClone(ociConfig) as unknown as Record<string, unknown>;
    mutate(doc);
    expect(invalid(() => parseImageConfig(json(doc))).message).toBe(message);
  });

  it('has the same size bound', () => {
    expect(() => parseImageConfig(Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20))).toThrow(/^config is 4194305 bytes/);
  });
});

describe('parseManifestOrIndex', () => {
  const indexDoc = { schemaVersion: 2, manifests: [{ mediaType: MediaType.OciManifest, digest: D1, size: 1 }] };
  const manifestDoc = () => {
    const d = ociManifest() as unknown as Record<string, unknown>;
    delete d.mediaType;
    return d;
  };

  it('trusts the document mediaType first, over the hint', () => {
    const r = parseManifestOrIndex(json({ ...indexDoc, mediaType: MediaType.DockerManifestList }), MediaType.OciManifest);
    expect(r.kind).toBe('index');
    expect(r.mediaType).toBe(MediaType.DockerManifestList);
    const m = parseManifestOrIndex(json(ociManifest()), 'application/json');
    expect(m.kind).toBe('manifest');
    if (m.kind === 'manifest') expect(m.manifest.layers).toHaveLength(3);
  });

  it('then the Content-Type hint, parameters ignored', () => {
    const r = parseManifestOrIndex(json(indexDoc), `${MediaType.OciIndex}; charset=utf-8`);
    expect(r).toMatchObject({ kind: 'index', mediaType: MediaType.OciIndex });
    const m = parseManifestOrIndex(json(manifestDoc()), MediaType.DockerManifest);
    expect(m).toMatchObject({ kind: 'manifest', mediaType: MediaType.DockerManifest });
  });

  it('then the shape', () => {
    expect(parseManifestOrIndex(json(indexDoc))).toMatchObject({ kind: 'index', mediaType: MediaType.OciIndex });
    expect(parseManifestOrIndex(json(manifestDoc()), 'application/octet-stream')).toMatchObject({
      kind: 'manifest',
      mediaType: MediaType.OciManifest,
    });
  });

  it('validates what it detected', () => {
    expect(() => parseManifestOrIndex(json({ ...indexDoc, manifests: [{}] }))).toThrow(
      'index.manifests[0].mediaType: missing required field',
    );
    expect(() => parseManifestOrIndex(json({ ...manifestDoc(), layers: 'x' }))).toThrow(
      'manifest.layers: expected an array, got string "x"',
    );
  });

  it('refuses schema 1, unknown types and shapeless documents', () => {
    expect(() => parseManifestOrIndex(json({ schemaVersion: 1, name: 'x', fsLayers: [] }))).toThrow(
      /Docker schema 1 manifests are not supported/,
    );
    expect(() => parseManifestOrIndex(json({ schemaVersion: 1 }), MediaType.DockerSchema1Manifest)).toThrow(
      UnsupportedMediaTypeError,
    );
    expect(() => parseManifestOrIndex(json({ ...indexDoc, mediaType: MediaType.DockerSchema1Manifest }))).toThrow(
      /Docker schema 1, which is not supported/,
    );
    expect(() => parseManifestOrIndex(json({ ...indexDoc, mediaType: 'application/vnd.example' }))).toThrow(
      /unsupported media type "application\/vnd.example"/,
    );
    expect(() => parseManifestOrIndex(json(indexDoc), 'text/html')).toThrow(
      'unsupported media type "text/html": Content-Type is neither a manifest nor an index media type',
    );
    expect(() => parseManifestOrIndex(json({ schemaVersion: 2 }))).toThrow(
      /^manifest: neither an index \(no "manifests" array\) nor a manifest/,
    );
    expect(() => parseManifestOrIndex(json({ ...indexDoc, mediaType: 7 }))).toThrow(
      'manifest.mediaType: expected a string, got number 7',
    );
    expect(() => parseManifestOrIndex(Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20))).toThrow(DocumentTooLargeError);
  });
});
