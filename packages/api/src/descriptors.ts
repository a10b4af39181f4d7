// The binary FileDescriptorSet of the whole contract (imports included), for
// server reflection and for tools that work from descriptors rather than code.
// Import it from "@berth/api/descriptors". @grpc/proto-loader (and protobufjs
// under it, ~60 modules) loads on the first call only, so merely importing
// this module, or the package root that re-exports it, costs nothing.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as ProtoLoader from '@grpc/proto-loader';
import type { Options, PackageDefinition } from '@grpc/proto-loader';

/** Absolute path of descriptors.binpb beside the compiled modules (dist/gen, or src/gen when run from source). */
export function descriptorSetPath(): string {
  return fileURLToPath(new URL('./gen/descriptors.binpb', import.meta.url));
}

/** Every berth service and message as a @grpc/proto-loader PackageDefinition (e.g. for @grpc/reflection). */
export function loadPackageDefinition(options?: Options): PackageDefinition {
  const path = descriptorSetPath();
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read berth's descriptor set at ${path} (run \`npm run build\` in packages/api)`, {
      cause: error,
    });
  }
  // proto-loader is CommonJS: require() loads it synchronously, when first needed
  const loader = createRequire(import.meta.url)('@grpc/proto-loader') as typeof ProtoLoader;
  return loader.loadFileDescriptorSetFromBuffer(bytes, options);
}
