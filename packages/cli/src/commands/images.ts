// Image commands over the images service: pull, push, images, rmi, tag,
// image inspect, image prune, save and load.
import { pathOf, written } from '../stdio/io.js';
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as images from '@berth/api/images';
import * as tasks from '@berth/api/tasks';
import { withSession, type Session } from '../client/session.js';
import { imageColumns, imageObject, type ImageInfo } from '../format/images.js';
import { jsonView } from '../format/json-view.js';
import { humanSize, shortId } from '../format/units.js';
import { BerthError, printList, renderInspect, UsageError, type Format } from '../output.js';
import { blobStateOf, type BlobStatus } from '../progress/board.js';
import { ProgressRenderer } from '../progress/renderer.js';
import type { GlobalOptions } from '../stack-options.js';
import { confirm } from '../stdio/confirm.js';
import { resolveReference } from '../parse/reference.js';
import { apiPlatform, pullImage, registryOptions, requireImage, type RegistryFlags } from './image-ops.js';

export async function pull(
  g: GlobalOptions,
  ref: string,
  o: RegistryFlags & { platform?: string; quiet?: boolean },
): Promise<number> {
  return withSession(g, async (s) => {
    await pullImage(s, ref, { ...o, out: g.io.stdout });
    return 0;
  });
}

export async function push(g: GlobalOptions, ref: string, o: RegistryFlags & { platform?: string; quiet?: boolean }): Promise<number> {
  const reference = resolveReference(ref);
  return withSession(g, async (s) => {
    const local = await requireImage(s, ref);
    const progress = o.quiet ? undefined : new ProgressRenderer(g.io.stdout, 'push');
    progress?.note(`The push refers to repository [${reference.name}]`);
    const call = s.api(images.TransferClient).pushImage(
      images.PushImageRequest.fromPartial({
        name: local.name,
        reference: reference.string(),
        platform: apiPlatform(o.platform),
        registry: registryOptions(g.io.env, reference.domain, o),
      }),
      s.metadata(),
    );
    let result: images.PushResult | undefined;
    try {
      for await (const msg of s.messages<images.PushImageResponse>(s.api(images.TransferClient), 'PushImage', call)) {
        if (msg.event?.$case === 'progress') {
          progress?.update(
            msg.event.value.blobs
              .map((b): BlobStatus | undefined => {
                const state = blobStateOf(b.state);
                return state ? { id: b.id || shortId(b.digest), state, current: b.current, total: b.total } : undefined;
              })
              .filter((b): b is BlobStatus => b !== undefined),
          );
        } else if (msg.event?.$case === 'result') result = msg.event.value;
      }
    } finally {
      progress?.finish();
    }
    if (!result) throw new BerthError(`the images service ended the push of ${reference.string()} without a result`);
    const tag = reference.tag ?? 'latest';
    g.io.stdout.write(`${o.quiet ? '' : `${tag}: digest: `}${result.target?.digest ?? ''}${o.quiet ? '' : ` size: ${result.target?.size ?? 0}`}\n`);
    return 0;
  });
}

/** Every image with what InspectImage adds (id, size, created); images that cannot be resolved keep their record only. */
async function imageInfos(s: Session, filters: string[]): Promise<ImageInfo[]> {
  const list = (await s.unary(s.api(images.ImagesClient), 'listImages', { filters })).images;
  return Promise.all(
    list.map(async (image) => {
      try {
        return { image, inspect: await s.unary(s.api(images.ImagesClient), 'inspectImage', { name: image.name }) };
      } catch {
        return { image };
      }
    }),
  );
}

export const IMAGE_FILTER_KEYS = ['name', 'reference', 'label', 'digest'] as const;

export async function list(
  g: GlobalOptions,
  o: { quiet?: boolean; noTrunc?: boolean; digests?: boolean; filter: string[]; repository?: string },
  format: Format,
): Promise<number> {
  const filters = o.filter.map((f) => f.replace(/^reference=/, 'name='));
  if (o.repository) filters.push(`name=${o.repository.includes(':') ? resolveReference(o.repository).string() : `*${o.repository}*`}`);
  return withSession(g, async (s) => {
    const infos = await imageInfos(s, filters);
    const now = new Date();
    printList(g.io, infos, {
      format,
      columns: imageColumns({ noTrunc: o.noTrunc === true, digests: o.digests === true }, now),
      json: (i) => imageObject(i, now),
      quiet: o.quiet
        ? (i) => {
            const id = i.inspect?.config?.digest || i.image.target?.digest || '';
            return o.noTrunc ? id : shortId(id);
          }
        : undefined,
    });
    return 0;
  });
}

export async function remove(g: GlobalOptions, refs: string[], o: { force?: boolean }): Promise<number> {
  return withSession(g, async (s) => {
    let failed = false;
    for (const ref of refs) {
      try {
        const image = await requireImage(s, ref);
        const users = (await s.unary(s.api(tasks.ContainersClient), 'listContainers', { filters: [`ancestor=${image.name}`] })).containers;
        if (users.length > 0 && !o.force) {
          throw new BerthError(
            `conflict: unable to remove ${image.name}: it is used by container ${users.map((c) => `${c.name} (${shortId(c.id)})`).join(', ')}; remove the container first or use --force`,
          );
        }
        const removed = (await s.unary(s.api(images.ImagesClient), 'deleteImage', { name: image.name, sync: true })).image ?? image;
        g.io.stdout.write(`Untagged: ${removed.name}\nDeleted: ${removed.target?.digest ?? ''}\n`);
      } catch (err) {
        failed = true;
        g.io.stderr.write(`berth: ${(err as Error).message}\n`);
        if ((err as Error).message.includes('berth system up')) break;
      }
    }
    return failed ? 125 : 0;
  });
}

export async function tag(g: GlobalOptions, source: string, target: string): Promise<number> {
  const to = resolveReference(target).string();
  return withSession(g, async (s) => {
    const image = await requireImage(s, source);
    await s.unary(s.api(images.ImagesClient), 'tagImage', { source: image.name, target: to, force: true });
    return 0;
  });
}

export async function inspect(g: GlobalOptions, refs: string[], o: { platform?: string }, format: Format): Promise<number> {
  return withSession(g, async (s) => {
    const { objects, failed } = await inspectImageObjects(s, refs, o.platform);
    g.io.stdout.write(renderInspect(objects, format));
    for (const f of failed) g.io.stderr.write(`berth: ${f}\n`);
    return failed.length > 0 ? 125 : 0;
  });
}

/** Images as `inspect` prints them: the record and its resolution for a platform, config as JSON. */
export async function inspectImageObjects(s: Session, refs: string[], platform?: string): Promise<{ objects: unknown[]; failed: string[] }> {
  const objects: unknown[] = [];
  const failed: string[] = [];
  for (const ref of refs) {
    try {
      const image = await requireImage(s, ref);
      const resolved = await s.unary(s.api(images.ImagesClient), 'inspectImage', { name: image.name, platform: apiPlatform(platform) });
      objects.push({ Id: resolved.config?.digest ?? '', ...(jsonView(images.InspectImageResponse, resolved) as object) });
    } catch (err) {
      if (!(err instanceof BerthError) || !err.message.startsWith('No such image')) throw err;
      failed.push(err.message);
    }
  }
  return { objects, failed };
}

/**
 * `image prune`: with --all, removes images no container uses; then (always)
 * collects the content no image reaches.
 */
export async function prune(g: GlobalOptions, o: { all?: boolean; force?: boolean }): Promise<number> {
  const warning = o.all
    ? 'WARNING! This will remove all images without at least one container associated to them.'
    : 'WARNING! This will remove all content (blobs) no image refers to.';
  if (!o.force && !(await confirm(g.io, warning))) return 0;
  return withSession(g, async (s) => {
    const removed: string[] = [];
    if (o.all) {
      const used = new Set(
        (await s.unary(s.api(tasks.ContainersClient), 'listContainers', { filters: [] })).containers.flatMap((c) => [c.imageName, c.spec?.image ?? '']),
      );
      for (const image of (await s.unary(s.api(images.ImagesClient), 'listImages', { filters: [] })).images) {
        if (used.has(image.name)) continue;
        await s.unary(s.api(images.ImagesClient), 'deleteImage', { name: image.name, sync: false });
        removed.push(image.name);
      }
    }
    const gc = await s.unary(s.api(images.ContentClient), 'pruneContent', { dryRun: false, staleIngestSeconds: 24 * 3600 });
    if (removed.length > 0) g.io.stdout.write(`Deleted Images:\n${removed.map((n) => `untagged: ${n}\n`).join('')}`);
    for (const d of gc.removed) g.io.stdout.write(`deleted: ${d.digest}\n`);
    g.io.stdout.write(`\nTotal reclaimed space: ${humanSize(gc.reclaimedBytes)}\n`);
    return 0;
  });
}

const ARCHIVE_FORMATS: Record<string, images.ArchiveFormat> = {
  oci: images.ArchiveFormat.OCI,
  docker: images.ArchiveFormat.DOCKER,
};

function archiveFormat(value: string | undefined): images.ArchiveFormat {
  if (value === undefined) return images.ArchiveFormat.UNSPECIFIED;
  const f = ARCHIVE_FORMATS[value];
  if (f === undefined) throw new UsageError(`invalid archive format "${value}": use oci or docker`);
  return f;
}

export async function save(g: GlobalOptions, refs: string[], o: { output?: string; format?: string; platform: string[] }): Promise<number> {
  const format = archiveFormat(o.format);
  if (!o.output && g.io.stdout.isTTY) {
    throw new UsageError('refusing to write an image archive to a terminal: use -o FILE or redirect the output');
  }
  return withSession(g, async (s) => {
    const names: string[] = [];
    for (const ref of refs) names.push((await requireImage(s, ref)).name);
    const call = s.api(images.TransferClient).exportImages(
      images.ExportImagesRequest.fromPartial({ names, format, platforms: o.platform.map((p) => apiPlatform(p)!) }),
      s.metadata(),
    );
    const chunks = (async function* () {
      for await (const msg of s.messages<images.ExportImagesResponse>(s.api(images.TransferClient), 'ExportImages', call)) yield msg.chunk;
    })();
    // a file only appears complete: written to a temp name, renamed at the end
    if (o.output) {
      const output = pathOf(g.io, o.output);
      const tmp = `${output}.berth-tmp`;
      try {
        await pipeline(chunks, createWriteStream(tmp, { mode: 0o644 }));
        renameSync(tmp, output);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
    } else {
      for await (const chunk of chunks) {
        await written(g.io.stdout, chunk);
      }
    }
    return 0;
  });
}

const CHUNK = 1024 * 1024;

export async function load(g: GlobalOptions, o: { input?: string; quiet?: boolean; platform?: string }): Promise<number> {
  if (!o.input && g.io.stdin.isTTY) {
    throw new UsageError('no image archive on stdin: use -i FILE or redirect an archive into berth load');
  }
  const input = o.input ? pathOf(g.io, o.input) : undefined;
  const total = input ? statFile(input) : 0;
  return withSession(g, async (s) => {
    const source = input ? createReadStream(input, { highWaterMark: CHUNK }) : g.io.stdin;
    const progress = o.quiet ? undefined : new ProgressRenderer(g.io.stderr, 'load');
    const id = o.input ? basename(o.input) : 'stdin';
    let sent = 0;
    const result = new Promise<images.ImportImagesResponse>((resolve, reject) => {
      const call = s.api(images.TransferClient).importImages(s.metadata(), (err, res) => (err ? reject(s.translate(s.api(images.TransferClient), 'ImportImages', err)) : resolve(res)));
      call.write({
        payload: {
          $case: 'options',
          value: images.ImportOptions.fromPartial({ unpack: true, platform: apiPlatform(o.platform) }),
        },
      });
      (async () => {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          sent += chunk.length;
          progress?.update([{ id, state: 'downloading', current: sent, total }]);
          if (!call.write({ payload: { $case: 'chunk', value: chunk } })) await new Promise((r) => call.once('drain', r));
        }
        progress?.update([{ id, state: 'done', current: sent, total: sent }]);
        call.end();
      })().catch((err: unknown) => {
        call.cancel();
        reject(new BerthError(`cannot read ${o.input ?? 'stdin'}: ${(err as Error).message}`));
      });
    });
    let response: images.ImportImagesResponse;
    try {
      response = await result;
    } finally {
      progress?.finish();
    }
    for (const image of response.images) g.io.stdout.write(`Loaded image: ${image.name}\n`);
    return 0;
  });
}

function statFile(path: string): number {
  try {
    return statSync(path).size;
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
