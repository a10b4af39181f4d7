// Images in the shared cache, keyed by their full spec (file contents and
// host source files by hash), so any change to what goes in gives a new key.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedBuild } from '../cache.js';
import { buildImage, type BuiltImage, type ImageSpec, type LayerSpec } from '../image.js';
import type { LayerEntry } from '../layer-entries.js';
import { hostPlatform } from '../platform.js';

function hashOf(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function entryKey(e: LayerEntry): unknown {
  if (e.type === 'file') {
    const { content, source, ...rest } = e;
    const bytes = source !== undefined ? readFileSync(source) : (content ?? '');
    return { ...rest, content: hashOf(bytes) };
  }
  if (e.type === 'raw') {
    const { content, name, linkname, pax, type, ...rest } = e.entry;
    const b = (v: string | Buffer | undefined): string | undefined =>
      v === undefined ? undefined : Buffer.from(v).toString('base64');
    return {
      raw: true,
      type,
      ...rest,
      name: b(name),
      linkname: b(linkname),
      content: content === undefined ? undefined : hashOf(content),
      pax: pax && Object.fromEntries(Object.entries(pax).map(([k, v]) => [k, b(v)])),
    };
  }
  return e;
}

function layerKey(layer: LayerSpec): unknown {
  if (Array.isArray(layer)) return { entries: layer.map(entryKey) };
  if ('tarFile' in layer) return { tar: hashOf(readFileSync(layer.tarFile)) };
  return { entries: layer.entries.map(entryKey), order: layer.order ?? 'sorted' };
}

/** The key material of a spec: everything that determines the built bytes. */
export function imageSpecKey(spec: ImageSpec): unknown {
  return { ...spec, platform: spec.platform ?? hostPlatform(), layers: spec.layers.map(layerKey) };
}

/**
 * buildImage into the shared cache (name is a readable prefix of the entry);
 * returns the cached image (its layoutDir is shared: read it, do not write
 * into it).
 */
export async function buildImageCached(spec: ImageSpec, name = 'image'): Promise<BuiltImage> {
  const entry = await cachedBuild(name, imageSpecKey(spec), async (tmp) => {
    const { layoutDir: _ignored, ...rest } = await buildImage(spec, join(tmp, 'layout'));
    return rest;
  });
  return { ...entry.value, layoutDir: join(entry.dir, 'layout') };
}
