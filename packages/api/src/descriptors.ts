// The binary FileDescriptorSet of the whole contract (imports included), for
// server reflection and for tools that work from descriptors rather than code.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadFileDescriptorSetFromBuffer, type Options, type PackageDefinition } from '@grpc/proto-loader';

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
  return loadFileDescriptorSetFromBuffer(bytes, options);
}
