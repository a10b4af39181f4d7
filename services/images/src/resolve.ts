// An image record resolved for one platform: index -> the platform's manifest
// -> config. What InspectImage answers, what import unpacks and what a
// single-platform push sends. Only local content is read.
import {
  chainId,
  formatPlatform,
  parseImageConfig,
  platformMatches,
  selectManifest,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type Manifest,
  type Platform,
} from '@berth/oci';
import type { ContentStore } from './content/store.js';
import { ImagesError, failedPrecondition, invalidArgument, messageOf, notFound, statusCodeOf } from './errors.js';
import { parseStoredDocument } from './walk.js';

/** Image configs with long histories can outgrow the manifest bound; this is the config bound. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
const MAX_INDEX_DEPTH = 4;

export interface ResolvedImage {
  /** The platform's manifest (the target itself for single-manifest images). */
  manifestDescriptor: Descriptor;
  manifest: Manifest;
  configDescriptor: Descriptor;
  /** The config as stored, byte for byte. */
  configBytes: Buffer;
  config: ImageConfig;
  /** Uncompressed layer digests, base first. */
  diffIds: Digest[];
  /** Chain id of the top layer; undefined for an image without layers. */
  chainId: Digest | undefined;
  /** Platforms the target's index lists; for a single manifest, the config's platform. */
  platforms: Platform[];
  /** Bytes of manifest, config and layers. */
  contentSize: number;
}

/**
 * Resolves `target` (of image `name`) for platform `want`. NOT_FOUND when the
 * index lists no matching platform (naming those it lists);
 * FAILED_PRECONDITION when the matching manifest or the config is not in the
 * local store (another platform was pulled). With `strict` (the caller
 * named the platform), a single-manifest image must be for that platform
 * too (NOT_FOUND naming both); without it, any single manifest resolves, as
 * Docker runs an image built for another platform when none is asked for.
 */
export async function resolveImage(
  content: ContentStore,
  name: string,
  target: Descriptor,
  want: Platform,
  opts: { strict?: boolean } = {},
): Promise<ResolvedImage> {
  let desc = target;
  let platforms: Platform[] | undefined;
  for (let depth = 0; ; depth++) {
    if (!content.has(desc.digest)) {
      throw failedPrecondition(
        desc === target
          ? `image ${name}: its target ${desc.digest} is not in the local store`
          : `image ${name}: the manifest for ${formatPlatform(want)} (${desc.digest}) is not in the local store; pull the image with that platform`,
      );
    }
    const doc = parseStoredDocument(desc.digest, desc.mediaType, await content.readBytes(desc.digest));
    if (doc.kind === 'manifest') {
      const manifest = doc.manifest;
      const configDescriptor = manifest.config;
      if (!content.has(configDescriptor.digest)) {
        throw failedPrecondition(`image ${name}: config ${configDescriptor.digest} is not in the local store`);
      }
      const configBytes = await content.readBytes(configDescriptor.digest, MAX_CONFIG_BYTES);
      let config: ImageConfig;
      try {
        config = parseImageConfig(configBytes, { maxBytes: MAX_CONFIG_BYTES });
      } catch (err) {
        throw new ImagesError(statusCodeOf(err), `image ${name}: config ${configDescriptor.digest}: ${messageOf(err)}`, { cause: err });
      }
      if (opts.strict && platforms === undefined && !platformMatches(want, configPlatform(config))) {
        throw notFound(`image ${name} is for ${formatPlatform(configPlatform(config))}, not ${formatPlatform(want)}`);
      }
      const diffIds = config.rootfs.diff_ids;
      if (diffIds.length !== manifest.layers.length) {
        throw invalidArgument(
          `image ${name}: manifest ${desc.digest} has ${manifest.layers.length} layers but its config lists ${diffIds.length} diff_ids`,
        );
      }
      return {
        manifestDescriptor: { ...desc, mediaType: doc.mediaType },
        manifest,
        configDescriptor,
        configBytes,
        config,
        diffIds,
        chainId: chainId(diffIds),
        platforms: platforms ?? [configPlatform(config)],
        contentSize: desc.size + configDescriptor.size + manifest.layers.reduce((n, l) => n + l.size, 0),
      };
    }
    if (depth >= MAX_INDEX_DEPTH) throw invalidArgument(`image ${name}: indexes nested more than ${MAX_INDEX_DEPTH} deep`);
    platforms ??= doc.index.manifests.flatMap((m) => (m.platform ? [m.platform] : []));
    try {
      desc = selectManifest(doc.index, want);
    } catch (err) {
      throw new ImagesError(statusCodeOf(err), `image ${name}: ${messageOf(err)}`, { cause: err });
    }
  }
}

function configPlatform(config: ImageConfig): Platform {
  return {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
    ...(config['os.version'] ? { 'os.version': config['os.version'] } : {}),
    ...(config['os.features'] ? { 'os.features': config['os.features'] } : {}),
  };
}
