// A multi-layer image that exercises layer semantics: additions, a deleted
// file and a deleted directory (whiteouts), a replaced directory (opaque),
// an overwritten file, a hardlink, absolute and relative symlinks, a fifo,
// odd ownership and modes. LAYERED_EXPECTED says what the unpacked root
// must look like, for tests of unpackers.
import type { BuiltImage, LayerSpec } from '../image.js';
import type { LayerEntry } from '../layer-entries.js';
import { BUSYBOX_CONFIG, busyboxLayerEntries, type TestImageOptions } from './busybox.js';
import { buildImageCached } from './cached-image.js';

const layer1: LayerEntry[] = [
  { type: 'dir', path: '/data' },
  { type: 'file', path: '/data/keep.txt', content: 'keep\n' },
  { type: 'file', path: '/data/delete-me.txt', content: 'deleted in layer 2\n' },
  { type: 'file', path: '/data/hello.txt', content: 'hello from layer 1\n' },
  { type: 'file', path: '/data/owned.sh', content: '#!/bin/sh\necho owned\n', mode: 0o750, uid: 1000, gid: 1000 },
  { type: 'dir', path: '/data/replaced' },
  { type: 'file', path: '/data/replaced/old-a.txt', content: 'old a\n' },
  { type: 'dir', path: '/data/replaced/old-sub' },
  { type: 'file', path: '/data/replaced/old-sub/old-b.txt', content: 'old b\n' },
  { type: 'dir', path: '/data/gone-dir' },
  { type: 'file', path: '/data/gone-dir/inner.txt', content: 'deleted with its directory in layer 3\n' },
];

const layer2: LayerEntry[] = [
  { type: 'dir', path: '/data' },
  { type: 'whiteout', path: '/data/delete-me.txt' },
  { type: 'file', path: '/data/hello.txt', content: 'hello from layer 2\n' },
  { type: 'hardlink', path: '/data/hello-hardlink.txt', target: '/data/hello.txt' },
  { type: 'symlink', path: '/data/abs-link', target: '/data/keep.txt' },
  { type: 'symlink', path: '/data/rel-link', target: 'keep.txt' },
  { type: 'dir', path: '/data/replaced', mode: 0o750 },
  { type: 'opaque', path: '/data/replaced' },
  { type: 'file', path: '/data/replaced/new.txt', content: 'new\n' },
];

const layer3: LayerEntry[] = [
  { type: 'dir', path: '/data' },
  { type: 'whiteout', path: '/data/gone-dir' },
  { type: 'file', path: '/data/layer3.txt', content: 'added in layer 3\n', mode: 0o600 },
  { type: 'dir', path: '/data/new-dir', mode: 0o700, uid: 1000, gid: 1000 },
  { type: 'file', path: '/data/new-dir/nested.txt', content: 'nested\n', uid: 1000, gid: 1000 },
  { type: 'fifo', path: '/data/fifo' },
];

/** The layers of the layered image (without the optional busybox base). */
export function layeredLayers(): LayerSpec[] {
  return [layer1, layer2, layer3];
}

/** What /data must look like after all layers are applied. */
export const LAYERED_EXPECTED = {
  files: {
    'data/keep.txt': { content: 'keep\n', mode: 0o644, uid: 0, gid: 0 },
    'data/hello.txt': { content: 'hello from layer 2\n', mode: 0o644, uid: 0, gid: 0 },
    'data/hello-hardlink.txt': { content: 'hello from layer 2\n', mode: 0o644, uid: 0, gid: 0 },
    'data/owned.sh': { content: '#!/bin/sh\necho owned\n', mode: 0o750, uid: 1000, gid: 1000 },
    'data/replaced/new.txt': { content: 'new\n', mode: 0o644, uid: 0, gid: 0 },
    'data/layer3.txt': { content: 'added in layer 3\n', mode: 0o600, uid: 0, gid: 0 },
    'data/new-dir/nested.txt': { content: 'nested\n', mode: 0o644, uid: 1000, gid: 1000 },
  },
  dirs: {
    'data/replaced': { mode: 0o750, uid: 0, gid: 0 },
    'data/new-dir': { mode: 0o700, uid: 1000, gid: 1000 },
  },
  /** data/hello-hardlink.txt and data/hello.txt are the same inode. */
  hardlinks: [['data/hello-hardlink.txt', 'data/hello.txt']] as [string, string][],
  symlinks: { 'data/abs-link': '/data/keep.txt', 'data/rel-link': 'keep.txt' },
  fifos: ['data/fifo'],
  /** Gone after unpacking (whiteouts, opaque dir), and no .wh.* name anywhere. */
  absent: [
    'data/delete-me.txt',
    'data/gone-dir',
    'data/replaced/old-a.txt',
    'data/replaced/old-sub',
    'data/.wh.delete-me.txt',
    'data/.wh.gone-dir',
    'data/replaced/.wh..wh..opq',
  ],
  /** The complete listing of /data afterwards (sorted, relative to the root). */
  tree: [
    'data',
    'data/abs-link',
    'data/fifo',
    'data/hello-hardlink.txt',
    'data/hello.txt',
    'data/keep.txt',
    'data/layer3.txt',
    'data/new-dir',
    'data/new-dir/nested.txt',
    'data/owned.sh',
    'data/rel-link',
    'data/replaced',
    'data/replaced/new.txt',
  ],
} as const;

export interface LayeredImageOptions extends TestImageOptions {
  /** 'busybox' puts the busybox layer underneath (runnable, 4 layers); default 'scratch' (3 layers, /data only). */
  base?: 'scratch' | 'busybox';
}

/** The layered image in the shared cache. */
export function layeredImage(opts: LayeredImageOptions = {}): Promise<BuiltImage> {
  const base = opts.base ?? 'scratch';
  return buildImageCached(
    {
      layers: base === 'busybox' ? [busyboxLayerEntries(), ...layeredLayers()] : layeredLayers(),
      config: base === 'busybox' ? BUSYBOX_CONFIG : { cmd: ['/data/owned.sh'] },
      mediaTypes: opts.mediaTypes ?? 'oci',
      compression: opts.compression ?? 'gzip',
      refName: opts.refName ?? 'latest',
    },
    `layered-${base}`,
  );
}
