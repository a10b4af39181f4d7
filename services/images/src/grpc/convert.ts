// Core records <-> berth.images.v1 / berth.types.v1 messages. Pure functions.
import { images, timestampFromDate, types } from '@berth/api';
import { normalizePlatform, parseDescriptor, type Descriptor, type Platform } from '@berth/oci';
import { invalidArgument, messageOf } from '../errors.js';
import type { ContentInfo, IngestStatus } from '../content/types.js';
import type { ImageRecord } from '../images.js';
import type { Lease, LeaseResource } from '../leases.js';
import type { LayerState } from '../progress.js';

export function platformToProto(p: Platform): types.Platform {
  return types.Platform.fromPartial({
    os: p.os,
    architecture: p.architecture,
    variant: p.variant ?? '',
    osVersion: p['os.version'] ?? '',
    osFeatures: p['os.features'] ?? [],
  });
}

/** A request's platform; undefined when unset (the caller then uses the host's). */
export function platformFromProto(p: types.Platform | undefined, field = 'platform'): Platform | undefined {
  if (p === undefined || (p.os === '' && p.architecture === '' && p.variant === '')) return undefined;
  if (p.os === '' || p.architecture === '') {
    throw invalidArgument(`${field}: os and architecture are both required (got ${JSON.stringify(`${p.os}/${p.architecture}`)})`);
  }
  return normalizePlatform({
    os: p.os,
    architecture: p.architecture,
    ...(p.variant ? { variant: p.variant } : {}),
    ...(p.osVersion ? { 'os.version': p.osVersion } : {}),
    ...(p.osFeatures.length > 0 ? { 'os.features': p.osFeatures } : {}),
  });
}

export function descriptorToProto(d: Descriptor): types.Descriptor {
  return types.Descriptor.fromPartial({
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    annotations: d.annotations ?? {},
    ...(d.platform ? { platform: platformToProto(d.platform) } : {}),
    urls: d.urls ?? [],
    artifactType: d.artifactType ?? '',
    data: d.data !== undefined ? Buffer.from(d.data, 'base64') : Buffer.alloc(0),
  });
}

/** A request's descriptor, checked as the OCI spec wants it (digest syntax, media type, size, embedded data). */
export function descriptorFromProto(d: types.Descriptor | undefined, field: string): Descriptor {
  if (d === undefined) throw invalidArgument(`${field} is required`);
  const platform = platformFromProto(d.platform, `${field}.platform`);
  const raw: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (Object.keys(d.annotations).length > 0) raw.annotations = d.annotations;
  if (platform) raw.platform = platform;
  if (d.urls.length > 0) raw.urls = d.urls;
  if (d.artifactType) raw.artifactType = d.artifactType;
  if (d.data.byteLength > 0) raw.data = d.data.toString('base64');
  try {
    return parseDescriptor(raw, field);
  } catch (err) {
    throw invalidArgument(messageOf(err), err);
  }
}

export function imageToProto(r: ImageRecord): images.Image {
  return images.Image.fromPartial({
    name: r.name,
    target: descriptorToProto(r.target),
    labels: r.labels,
    createdAt: timestampFromDate(r.createdAt),
    updatedAt: timestampFromDate(r.updatedAt),
  });
}

export function contentInfoToProto(info: ContentInfo): images.ContentInfo {
  return images.ContentInfo.fromPartial({
    digest: info.digest,
    size: info.size,
    labels: info.labels,
    createdAt: timestampFromDate(info.createdAt),
    updatedAt: timestampFromDate(info.updatedAt),
  });
}

export function ingestToProto(s: IngestStatus): images.IngestStatus {
  return images.IngestStatus.fromPartial({
    ref: s.ref,
    offset: s.offset,
    total: s.total ?? 0,
    expected: s.expected ?? '',
    startedAt: timestampFromDate(s.startedAt),
    updatedAt: timestampFromDate(s.updatedAt),
  });
}

export function leaseToProto(l: Lease): images.Lease {
  return images.Lease.fromPartial({
    id: l.id,
    labels: l.labels,
    createdAt: timestampFromDate(l.createdAt),
    ...(l.expiresAt ? { expiresAt: timestampFromDate(l.expiresAt) } : {}),
  });
}

export function leaseResourceToProto(r: LeaseResource): images.LeaseResource {
  return images.LeaseResource.fromPartial({ id: r.id, type: r.kind });
}

const PROGRESS_STATES: Record<LayerState, types.ProgressState> = {
  waiting: types.ProgressState.WAITING,
  downloading: types.ProgressState.DOWNLOADING,
  verifying: types.ProgressState.VERIFYING,
  extracting: types.ProgressState.EXTRACTING,
  done: types.ProgressState.DONE,
  exists: types.ProgressState.EXISTS,
};

export function progressStateToProto(state: LayerState): types.ProgressState {
  return PROGRESS_STATES[state];
}
