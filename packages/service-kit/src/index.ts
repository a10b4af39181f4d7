export * from './config.js';
export * from './errors.js';
export * from './grpc-server.js';
export * from './grpc-client.js';
export * from './grpc-tracing.js';
export * from './run-service.js';
export * from './settle.js';
