// berth.types.v1: types shared by every API.
export * from './gen/berth/types/v1/types.js';
