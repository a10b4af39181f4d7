// Pushing a layout image to a test registry with skopeo.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryCredentials } from './registry/registry.js';
import { isIndexMediaType, withSkopeoSource } from './skopeo-source.js';
import { skopeo } from './skopeo.js';

export interface PushOptions {
  /** The registry to push to (a TestRegistry does). */
  registry: { host: string; auth?: RegistryCredentials | undefined };
  /**
   * Convert the manifest with skopeo (`--format`); the digest then differs
   * from the layout's. Default: push as is, digests preserved.
   */
  format?: 'oci' | 'v2s2';
  /** Credentials; default registry.auth; null pushes anonymously. */
  creds?: RegistryCredentials | null;
  /** Which image of the layout (its ref name); default the only one. */
  refName?: string;
}

/**
 * `skopeo copy <layout image> docker://<host>/<reference>` over plain HTTP;
 * reference is 'repo[:tag]'. An index is pushed with all its images. Returns
 * the digest of the manifest (or index) the registry now holds: the
 * layout's own digest unless `format` asked for a conversion.
 */
export async function pushImage(layoutDir: string, reference: string, opts: PushOptions): Promise<string> {
  const creds = opts.creds === undefined ? opts.registry.auth : opts.creds;
  const tmp = await mkdtemp(join(tmpdir(), 'berth-push-'));
  try {
    const digestFile = join(tmp, 'digest');
    await withSkopeoSource(layoutDir, opts.refName, (source, descriptor) =>
      skopeo([
        'copy',
        '--quiet',
        '--dest-tls-verify=false',
        '--digestfile',
        digestFile,
        ...(opts.format ? ['--format', opts.format] : ['--preserve-digests']),
        ...(creds ? ['--dest-creds', `${creds.username}:${creds.password}`] : ['--dest-no-creds']),
        ...(isIndexMediaType(descriptor.mediaType) ? ['--all'] : []),
        source,
        `docker://${opts.registry.host}/${reference}`,
      ]),
    );
    const digest = (await readFile(digestFile, 'utf8')).trim();
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) {
      throw new Error(`skopeo wrote ${JSON.stringify(digest)} as the digest of ${reference}; expected sha256:<hex>`);
    }
    return digest;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
