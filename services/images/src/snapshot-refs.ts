// The chain ids image records keep: for every image of every namespace (the
// snapshots service has one key space for all namespaces), every manifest in
// the local store (any platform, so whichever was unpacked is covered), every
// prefix of its config's diff_ids chain. Absent manifests or configs were
// never unpacked here; a stored one that cannot be parsed aborts the caller,
// which then removes nothing.
import { chainIds, parseImageConfig, type Descriptor } from '@berth/oci';
import type { ContentStore } from './content/store.js';
import { ImagesError, messageOf, statusCodeOf } from './errors.js';
import type { ImageStore } from './images.js';
import { walkImage } from './walk.js';

/** Image configs with long histories can outgrow the manifest bound (as in resolve.ts). */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export async function referencedChainIds(content: ContentStore, images: ImageStore): Promise<Set<string>> {
  const out = new Set<string>();
  const seenConfigs = new Set<string>();
  for (const target of images.allTargets()) {
    await walkImage(
      content,
      target,
      async (entry) => {
        if (entry.document?.kind !== 'manifest') return;
        const config = entry.document.manifest.config;
        if (seenConfigs.has(config.digest) || !content.has(config.digest)) return;
        seenConfigs.add(config.digest);
        for (const id of await configChainIds(content, config)) out.add(id);
      },
      // A manifest's config and layers are read above or are not documents: only descend through indexes.
      (_child, parent) => parent.document?.kind === 'index',
    );
  }
  return out;
}

async function configChainIds(content: ContentStore, config: Descriptor): Promise<string[]> {
  const bytes = await content.readBytes(config.digest, MAX_CONFIG_BYTES);
  try {
    return chainIds(parseImageConfig(bytes, { maxBytes: MAX_CONFIG_BYTES }).rootfs.diff_ids);
  } catch (err) {
    throw new ImagesError(statusCodeOf(err), `stored image config ${config.digest}: ${messageOf(err)}`, { cause: err });
  }
}
