// Locations the tests work with, and the buf binary they run.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const repoRoot = join(packageRoot, '..', '..');
export const protoDir = join(repoRoot, 'proto');
export const genDir = join(packageRoot, 'src', 'gen');

/** The workspace's buf binary; fails loudly when it is missing. */
export function bufBinary(): string {
  const path = join(repoRoot, 'node_modules', '.bin', 'buf');
  if (!existsSync(path)) throw new Error(`buf not found at ${path}: the @bufbuild/buf dev dependency is not installed`);
  return path;
}
