// berth.images.v1: content store, image records, registry/archive transfer, leases.
export * from './gen/berth/images/v1/content.js';
export * from './gen/berth/images/v1/images.js';
export * from './gen/berth/images/v1/transfer.js';
export * from './gen/berth/images/v1/leases.js';
