import { afterEach, describe, expect, it } from 'vitest';
import { normalizeImageName } from '../src/images.js';
import { statusCodeOf } from '../src/errors.js';
import { openTestCore, sha256, type TestCore } from './helpers.js';

const target = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256('m'), size: 1 };
const other = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256('i'), size: 2 };

describe('image records', () => {
  let core: TestCore;
  afterEach(() => core?.close());

  it('create, get, list with filters, update, tag, delete, per namespace, with events', async () => {
    core = openTestCore();
    const a = core.images.create('default', { name: 'docker.io/library/busybox:latest', target, labels: { tier: 'base' } });
    expect(a).toMatchObject({ namespace: 'default', name: 'docker.io/library/busybox:latest', target, labels: { tier: 'base' } });
    expect(a.createdAt).toBeInstanceOf(Date);
    expect(() => core.images.create('default', { name: a.name, target })).toThrow(/already exists in namespace default/);
    expect(statusCodeOf(catchErr(() => core.images.create('default', { name: a.name, target })))).toBe('ALREADY_EXISTS');

    core.images.create('default', { name: 'example.com/app:v1', target: other });
    core.images.create('team', { name: 'example.com/app:v1', target });

    expect(core.images.list('default').map((i) => i.name)).toEqual(['docker.io/library/busybox:latest', 'example.com/app:v1']);
    expect(core.images.list('team').map((i) => i.name)).toEqual(['example.com/app:v1']);
    expect(core.images.list('default', ['labels.tier==base']).map((i) => i.name)).toEqual(['docker.io/library/busybox:latest']);
    expect(core.images.list('default', ['name~=^example']).map((i) => i.name)).toEqual(['example.com/app:v1']);
    expect(core.images.list('default', [`target.digest==${other.digest}`, 'labels.tier']).map((i) => i.name).sort()).toEqual([
      'docker.io/library/busybox:latest',
      'example.com/app:v1',
    ]);
    expect(core.images.list('default', ['labels."tier"!=base']).map((i) => i.name)).toEqual(['example.com/app:v1']);
    expect(() => core.images.list('default', ['name=='])).not.toThrow();
    expect(() => core.images.list('default', ['labels."unterminated'])).toThrow(/unterminated quoted string/);
    expect(() => core.images.list('default', ['name~=('])).toThrow(/bad regular expression/);

    const updated = core.images.update('default', 'example.com/app:v1', { target, labels: { x: '1' } });
    expect(updated.target).toEqual(target);
    expect(updated.labels).toEqual({ x: '1' });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(updated.createdAt.getTime());

    const tagged = core.images.tag('default', 'docker.io/library/busybox:latest', 'docker.io/library/busybox:copy');
    expect(tagged.target).toEqual(target);
    expect(() => core.images.tag('default', 'docker.io/library/busybox:latest', 'example.com/app:v1')).toThrow(/already exists/);
    core.images.tag('default', 'docker.io/library/busybox:latest', 'example.com/app:v1', { force: true });

    const deleted = core.images.delete('default', 'docker.io/library/busybox:copy');
    expect(deleted.name).toBe('docker.io/library/busybox:copy');
    expect(() => core.images.get('default', 'docker.io/library/busybox:copy')).toThrow(/not found in namespace default/);
    expect(() => core.images.delete('default', 'nope')).toThrow(/not found/);

    expect(core.events.map((e) => `${e.type} ${e.namespace} ${e.payload.name as string}`)).toEqual([
      'images.created default docker.io/library/busybox:latest',
      'images.created default example.com/app:v1',
      'images.created team example.com/app:v1',
      'images.updated default example.com/app:v1',
      'images.created default docker.io/library/busybox:copy',
      'images.updated default example.com/app:v1',
      'images.deleted default docker.io/library/busybox:copy',
    ]);
  });

  it('rejects bad names, namespaces, targets and labels with clear errors', () => {
    core = openTestCore();
    expect(() => core.images.create('bad ns', { name: 'a', target })).toThrow(/invalid namespace "bad ns"/);
    expect(() => core.images.create('default', { name: '', target })).toThrow(/image name must not be empty/);
    expect(() => core.images.create('default', { name: 'a b', target })).toThrow(/whitespace/);
    expect(() => core.images.create('default', { name: 'a', target: { ...target, digest: 'sha256:xyz' as `sha256:${string}` } })).toThrow(
      /image a: target\.digest: invalid digest/,
    );
    expect(() => core.images.create('default', { name: 'a', target, labels: { k: 'v'.repeat(5000) } })).toThrow(/over the limit/);
    expect(core.images.list('default')).toEqual([]);
    expect(normalizeImageName('busybox')).toBe('docker.io/library/busybox:latest');
    expect(() => normalizeImageName('Bad:Name')).toThrow(/invalid reference/);
  });
});

function catchErr(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
