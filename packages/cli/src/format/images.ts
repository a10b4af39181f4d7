// Images as `images` and `image inspect` show them.
import type * as images from '@berth/api/images';
import { dateFromTimestamp } from '@berth/api/timestamps';
import { familiarImage } from './containers.js';
import { humanSize, shortId, timeAgo } from './units.js';

/** An image record with what InspectImage adds (absent when the image could not be resolved here). */
export interface ImageInfo {
  image: images.Image;
  inspect?: images.InspectImageResponse | undefined;
}

/** Repository and tag of a full name: "docker.io/library/busybox:latest" -> busybox, latest. */
export function splitName(name: string): { repository: string; tag: string; digest: string } {
  const at = name.indexOf('@');
  const digest = at >= 0 ? name.slice(at + 1) : '';
  const base = at >= 0 ? name.slice(0, at) : name;
  const colon = base.lastIndexOf(':');
  const hasTag = colon > base.lastIndexOf('/');
  return {
    repository: familiarImage(hasTag ? base.slice(0, colon) : base),
    tag: hasTag ? base.slice(colon + 1) : '<none>',
    digest,
  };
}

/** When the image was built: the config's "created", else when the record was made. */
export function imageCreated(info: ImageInfo): Date | undefined {
  if (info.inspect?.configJson.length) {
    try {
      const created = (JSON.parse(Buffer.from(info.inspect.configJson).toString('utf8')) as { created?: unknown }).created;
      if (typeof created === 'string' && !Number.isNaN(Date.parse(created))) return new Date(created);
    } catch {
      // a config that is not JSON says nothing about when
    }
  }
  return info.image.createdAt ? dateFromTimestamp(info.image.createdAt) : undefined;
}

/** The image id Docker shows: the config digest (the target digest when the config is unknown). */
export const imageId = (info: ImageInfo): string => info.inspect?.config?.digest || info.image.target?.digest || '';

/** One `images` row object: what --format json prints and templates see. */
export function imageObject(info: ImageInfo, now: Date = new Date()) {
  const { repository, tag } = splitName(info.image.name);
  const created = imageCreated(info);
  const size = info.inspect?.contentSize ?? info.image.target?.size ?? 0;
  return {
    Name: info.image.name,
    Repository: repository,
    Tag: tag,
    ID: imageId(info),
    Digest: info.image.target?.digest ?? '',
    CreatedAt: created?.toISOString() ?? null,
    CreatedSince: timeAgo(created, now),
    Size: humanSize(size),
    SizeBytes: size,
    Platforms: (info.inspect?.platforms ?? []).map((p) => [p.os, p.architecture, p.variant].filter(Boolean).join('/')),
    Labels: info.image.labels,
  };
}

export function imageColumns(o: { noTrunc: boolean; digests: boolean }, now: Date = new Date()) {
  return [
    { header: 'REPOSITORY', cell: (i: ImageInfo) => splitName(i.image.name).repository },
    { header: 'TAG', cell: (i: ImageInfo) => splitName(i.image.name).tag },
    ...(o.digests ? [{ header: 'DIGEST', cell: (i: ImageInfo) => i.image.target?.digest ?? '' }] : []),
    { header: 'IMAGE ID', cell: (i: ImageInfo) => (o.noTrunc ? imageId(i) : shortId(imageId(i))) },
    { header: 'CREATED', cell: (i: ImageInfo) => timeAgo(imageCreated(i), now) },
    { header: 'SIZE', cell: (i: ImageInfo) => humanSize(i.inspect?.contentSize ?? i.image.target?.size ?? 0) },
  ];
}
