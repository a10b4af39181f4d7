// berth.images.v1.Images over the core's image records.
import { images } from '@berth/api';
import { hostPlatform } from '@berth/oci';
import type { ImagesCore } from '../core.js';
import { invalidArgument } from '../errors.js';
import type { ImageRecord, ImageUpdate } from '../images.js';
import { resolveImage } from '../resolve.js';
import { labelUpdate } from './content.js';
import { descriptorFromProto, descriptorToProto, imageToProto, platformFromProto, platformToProto } from './convert.js';
import { compileFilters } from './filters.js';
import { canonicalName, findImage, recordName } from './image-names.js';
import { namespaceOf, type Handlers } from './handlers.js';
import type { SnapshotCollector } from './snapshot-gc.js';

/** `snapshotGc` (absent when this node does not unpack) runs after each delete. */
export function imagesService(core: ImagesCore, h: Handlers, snapshotGc?: SnapshotCollector): images.ImagesServer {
  return {
    getImage: h.unary((req, call) =>
      images.GetImageResponse.fromPartial({ image: imageToProto(findImage(core.images, namespaceOf(call), req.name)) }),
    ),

    listImages: h.unary((req, call) => {
      const matches = compileFilters<ImageRecord>(req.filters, {
        fields: { name: (r) => r.name, digest: (r) => r.target.digest },
        globs: ['name'],
        // "name=busybox" finds docker.io/library/busybox:latest, as records carry canonical names.
        aliases: { name: (v) => [canonicalName(v) ?? v] },
        labels: (r) => r.labels,
      });
      const records = core.images.list(namespaceOf(call)).filter(matches);
      return images.ListImagesResponse.fromPartial({ images: records.map(imageToProto) });
    }),

    createImage: h.unary((req, call) => {
      if (!req.image) throw invalidArgument('CreateImage: image is required');
      const record = core.images.create(namespaceOf(call), {
        name: recordName(req.image.name, 'image.name'),
        target: descriptorFromProto(req.image.target, 'image.target'),
        labels: req.image.labels,
      });
      return images.CreateImageResponse.fromPartial({ image: imageToProto(record) });
    }),

    updateImage: h.unary((req, call) => {
      if (!req.image) throw invalidArgument('UpdateImage: image is required');
      const namespace = namespaceOf(call);
      const current = findImage(core.images, namespace, req.image.name, 'image.name');
      const paths = req.updateMask ?? [];
      const change: ImageUpdate = {};
      if (paths.length === 0 || paths.includes('target')) change.target = descriptorFromProto(req.image.target, 'image.target');
      const labelPaths = paths.filter((p) => p !== 'target');
      if (paths.length === 0 || labelPaths.length > 0) {
        const { labels, replace } = labelUpdate(req.image.labels, labelPaths.length > 0 ? labelPaths : ['labels'], `UpdateImage of ${current.name}`);
        change.labels = labels;
        change.replaceLabels = replace;
      }
      const record = core.images.update(namespace, current.name, change);
      return images.UpdateImageResponse.fromPartial({ image: imageToProto(record) });
    }),

    deleteImage: h.unary(async (req, call) => {
      const namespace = namespaceOf(call);
      const record = core.images.delete(namespace, findImage(core.images, namespace, req.name).name);
      if (req.sync) core.gc();
      // Its layer snapshots no other image uses go too (logged; the response has no place for them). Never fails the delete.
      await snapshotGc?.collect({ namespace, why: `delete of image ${record.name}` });
      return images.DeleteImageResponse.fromPartial({ image: imageToProto(record) });
    }),

    tagImage: h.unary((req, call) => {
      const namespace = namespaceOf(call);
      const source = findImage(core.images, namespace, req.source, 'source');
      const record = core.images.tag(namespace, source.name, recordName(req.target, 'target'), { force: req.force });
      return images.TagImageResponse.fromPartial({ image: imageToProto(record) });
    }),

    inspectImage: h.unary(async (req, call) => {
      const record = findImage(core.images, namespaceOf(call), req.name);
      const asked = platformFromProto(req.platform);
      const r = await resolveImage(core.content, record.name, record.target, asked ?? hostPlatform(), { strict: asked !== undefined });
      return images.InspectImageResponse.fromPartial({
        image: imageToProto(record),
        manifest: descriptorToProto(r.manifestDescriptor),
        config: descriptorToProto(r.configDescriptor),
        configJson: r.configBytes,
        layers: r.manifest.layers.map(descriptorToProto),
        diffIds: r.diffIds,
        chainId: r.chainId ?? '',
        contentSize: r.contentSize,
        platforms: r.platforms.map(platformToProto),
      });
    }),
  };
}
