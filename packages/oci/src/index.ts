export * from './errors.js';
export * from './media-types.js';
export * from './digest.js';
export * from './verify.js';
export * from './chain-id.js';
export * from './types.js';
export { MAX_MANIFEST_BYTES, type ParseOptions } from './document.js';
export { parseDescriptor, parsePlatformObject } from './descriptor.js';
export { parseManifest, validateManifest } from './manifest.js';
export { parseIndex, validateIndex } from './image-index.js';
export { parseImageConfig, validateImageConfig } from './image-config.js';
export { parseManifestOrIndex } from './manifest-or-index.js';
export * from './reference.js';
export {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  platformFromNode,
  platformMatches,
} from './platform.js';
export { availablePlatforms, selectManifest } from './select-manifest.js';
