// Image operations several commands share: finding local images, registry
// options, and pulling with progress (pull, run, create).
import * as images from '@berth/api/images';
import * as types from '@berth/api/types';
import { Code, hasCode } from '../client/errors.js';
import type { Session } from '../client/session.js';
import { splitName } from '../format/images.js';
import { familiarImage } from '../format/containers.js';
import { BerthError, UsageError } from '../output.js';
import { parsePlatformFlag } from '../parse/platform.js';
import { resolveReference } from '../parse/reference.js';
import { blobStateOf, type BlobStatus } from '../progress/board.js';
import { ProgressRenderer, type ProgressOutput } from '../progress/renderer.js';
import type { PullPolicy } from '../run-flags.js';
import { credentialsFor, dockerConfigPath, readDockerConfig } from '../registry-auth.js';

/** --platform as the API's Platform; undefined when not given. */
export function apiPlatform(spec: string | undefined): types.Platform | undefined {
  const p = parsePlatformFlag(spec);
  if (!p) return undefined;
  return types.Platform.fromPartial({
    os: p.os,
    architecture: p.architecture,
    variant: p.variant ?? '',
    osVersion: p['os.version'] ?? '',
    osFeatures: p['os.features'] ?? [],
  });
}

export interface RegistryFlags {
  plainHttp?: boolean;
  skipTlsVerify?: boolean;
}

/** How to reach the registry of ref: stored credentials (config.json) and transport flags. */
export function registryOptions(env: NodeJS.ProcessEnv, domain: string, flags: RegistryFlags): images.RegistryOptions {
  const creds = credentialsFor(readDockerConfig(dockerConfigPath(env)), domain);
  return images.RegistryOptions.fromPartial({
    plainHttp: flags.plainHttp === true,
    skipTlsVerify: flags.skipTlsVerify === true,
    ...(creds ? { credentials: creds } : {}),
  });
}

/** The local image called ref, or undefined when there is none. */
export async function findImage(s: Session, ref: string): Promise<images.Image | undefined> {
  try {
    return (await s.unary(s.api(images.ImagesClient), 'getImage', { name: resolveReference(ref).string() })).image;
  } catch (err) {
    if (hasCode(err, Code.NOT_FOUND)) return undefined;
    throw err;
  }
}

const IMAGE_ID = /^(?:sha256:)?([0-9a-f]{4,64})$/;

/**
 * The local image a user means: a name ("busybox", full or short), else an
 * image id or its prefix (config digest, as `images` shows it). "No such
 * image" names the reference as resolved.
 */
export async function requireImage(s: Session, ref: string): Promise<images.Image> {
  const idMatch = IMAGE_ID.exec(ref);
  let byName: images.Image | undefined;
  let nameError: unknown;
  try {
    byName = await findImage(s, ref);
  } catch (err) {
    if (!(err instanceof UsageError) || !idMatch) throw err;
    nameError = err;
  }
  if (byName) return byName;
  if (idMatch) {
    const prefix = idMatch[1]!;
    const all = (await s.unary(s.api(images.ImagesClient), 'listImages', { filters: [] })).images;
    const hits: images.Image[] = [];
    for (const image of all) {
      const targetHex = image.target?.digest.replace(/^sha256:/, '') ?? '';
      let configHex = '';
      try {
        configHex = (await s.unary(s.api(images.ImagesClient), 'inspectImage', { name: image.name })).config?.digest.replace(/^sha256:/, '') ?? '';
      } catch {
        // an image that cannot be resolved here still matches by its target digest
      }
      if (configHex.startsWith(prefix) || targetHex.startsWith(prefix)) hits.push(image);
    }
    const ids = new Set(hits.map((h) => h.target?.digest));
    if (hits.length > 0 && ids.size === 1) return hits[0]!;
    if (hits.length > 1) {
      throw new BerthError(`image id ${ref} is ambiguous: it matches ${hits.map((h) => h.name).join(', ')}`);
    }
    if (nameError) throw nameError;
  }
  throw new BerthError(`No such image: ${resolveReference(ref).string()}`);
}

export interface PullOptions extends RegistryFlags {
  platform?: string | undefined;
  /** Print only the final name. */
  quiet?: boolean;
  /** Where progress goes: stdout for `pull`, stderr for `run`. */
  out: ProgressOutput;
}

function blobStatus(b: types.BlobProgress): BlobStatus | undefined {
  const state = blobStateOf(b.state);
  return state ? { id: b.id || b.digest.replace(/^sha256:/, '').slice(0, 12), state, current: b.current, total: b.total } : undefined;
}

/**
 * Pulls ref with Docker's output (a header, per-layer progress, digest and
 * status lines) and returns the image record. A reference the registry does
 * not know fails with the reference as resolved.
 */
export async function pullImage(s: Session, ref: string, o: PullOptions): Promise<images.Image> {
  const reference = resolveReference(ref);
  const resolved = reference.string();
  const before = await findImage(s, ref);
  const request = images.PullImageRequest.fromPartial({
    reference: resolved,
    platform: apiPlatform(o.platform),
    registry: registryOptions(s.io.env, reference.domain, o),
    unpack: true,
  });
  const progress = o.quiet ? undefined : new ProgressRenderer(o.out, 'pull');
  const call = s.api(images.TransferClient).pullImage(request, s.metadata());
  let layers: Set<string> | undefined;
  let image: images.Image | undefined;
  try {
    for await (const msg of s.messages<images.PullImageResponse>(s.api(images.TransferClient), 'PullImage', call)) {
      const event = msg.event;
      if (!event) continue;
      if (event.$case === 'resolved') {
        layers = new Set(event.value.layers.map((l) => l.digest));
        const { repository, tag } = splitName(event.value.name || resolved);
        progress?.note(`${reference.digest ? reference.digest : tag}: Pulling from ${reference.path || repository}`);
        progress?.expect(event.value.layers.map((l) => ({ id: l.digest.replace(/^sha256:/, '').slice(0, 12), total: l.size })));
      } else if (event.$case === 'progress') {
        const shown = event.value.blobs.filter((b) => !layers || layers.has(b.digest));
        progress?.update(shown.map(blobStatus).filter((b): b is BlobStatus => b !== undefined));
      } else if (event.$case === 'image') {
        image = event.value;
      }
    }
  } catch (err) {
    progress?.finish();
    if (hasCode(err, Code.NOT_FOUND)) {
      throw new BerthError(`image ${resolved} not found: ${err.message}`, 125, { cause: err });
    }
    if (err instanceof BerthError && !(err.message.includes(resolved))) {
      throw new BerthError(`cannot pull ${resolved}: ${err.message}`, err.exitCode, { cause: err });
    }
    throw err;
  }
  progress?.finish();
  if (!image) throw new BerthError(`the images service ended the pull of ${resolved} without recording an image`);
  if (o.quiet) {
    o.out.write(`${image.name}\n`);
  } else {
    const digest = image.target?.digest ?? '';
    const same = before?.target?.digest === digest;
    o.out.write(`Digest: ${digest}\n`);
    o.out.write(`Status: ${same ? 'Image is up to date for' : 'Downloaded newer image for'} ${familiarImage(image.name)}\n`);
    o.out.write(`${image.name}\n`);
  }
  return image;
}


/**
 * The local image called ref when it can run on the platform asked for (any
 * platform when none is): an index pulled for another platform holds no
 * manifest for this one, and the images service says so.
 */
async function findRunnableImage(s: Session, ref: string, platform: string | undefined): Promise<images.Image | undefined> {
  const local = await findImage(s, ref);
  if (!local || platform === undefined) return local;
  try {
    await s.unary(s.api(images.ImagesClient), 'inspectImage', { name: local.name, platform: apiPlatform(platform) });
    return local;
  } catch (err) {
    if (hasCode(err, Code.NOT_FOUND, Code.FAILED_PRECONDITION)) return undefined;
    throw err;
  }
}

/** The image for run/create per --pull: pulled when missing (or always), never pulled with "never". */
export async function ensureImage(s: Session, ref: string, policy: PullPolicy, o: PullOptions): Promise<images.Image> {
  if (policy !== 'always') {
    const local = await findRunnableImage(s, ref, o.platform);
    if (local) return local;
    const resolved = resolveReference(ref).string();
    const what = o.platform ? `${resolved} for ${o.platform}` : resolved;
    if (policy === 'never') throw new BerthError(`No such image: ${what} (and --pull never forbids pulling it)`);
    if (!o.quiet) o.out.write(`Unable to find image '${familiarImage(resolved)}'${o.platform ? ` for ${o.platform}` : ''} locally\n`);
  }
  return pullImage(s, ref, o);
}
