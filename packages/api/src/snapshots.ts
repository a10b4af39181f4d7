// berth.snapshots.v1: snapshotter and layer apply/unpack/diff.
export * from './gen/berth/snapshots/v1/snapshots.js';
export * from './gen/berth/snapshots/v1/layers.js';
