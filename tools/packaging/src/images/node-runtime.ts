// The host's Node runtime as files for an image: the node binary, npm, and
// any shared library node links against that the target root filesystem
// lacks (found with ldd). Laid out like the official node images
// (/usr/local/bin/node, /usr/local/lib/node_modules/npm).
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { requireBinary, run } from '@berth/testkit';

export interface HostNode {
  binary: string;
  version: string;
  npmDir: string;
  npmVersion: string;
}

/** The node running this process and the npm installed beside it. */
export function hostNode(): HostNode {
  const binary = realpathSync(process.execPath);
  const npmCli = realpathSync(requireBinary('npm', 'npm ships with Node'));
  const npmDir = dirname(dirname(npmCli));
  const manifest = JSON.parse(readFileSync(join(npmDir, 'package.json'), 'utf8')) as { name?: string; version?: string };
  if (manifest.name !== 'npm') throw new Error(`${npmCli} does not belong to an npm package (found ${npmDir})`);
  return { binary, version: process.version, npmDir, npmVersion: manifest.version ?? 'unknown' };
}

/** Library paths `ldd` reports for a binary. Pure. */
export function parseLdd(output: string): string[] {
  const libs: string[] = [];
  for (const line of output.split('\n')) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(0x/.exec(line);
    const path = arrow?.[1] ?? bare?.[1];
    if (path) libs.push(path);
  }
  return libs;
}

/** Where a library path lives in a merged-/usr root filesystem (Debian 12): /lib/x → usr/lib/x. Pure. */
export function mergedUsrPath(path: string): string {
  const rel = path.replace(/^\/+/, '');
  return /^(lib|lib32|lib64|libx32|bin|sbin)\//.test(rel) ? `usr/${rel}` : rel;
}

/** Names in a tar listing, without "./" and trailing "/". Pure. */
export function normaliseTarNames(listing: string): Set<string> {
  return new Set(
    listing
      .split('\n')
      .filter(Boolean)
      .map((n) => n.replace(/^\.\//, '').replace(/\/$/, '')),
  );
}

/** Libraries of `binary` that the root filesystem whose tar names are given does not have. */
export async function missingLibraries(binary: string, rootfsNames: Set<string>): Promise<string[]> {
  const ldd = requireBinary('ldd', 'libc-bin');
  const { stdout } = await run(ldd, [binary]);
  return parseLdd(stdout.toString()).filter((lib) => !rootfsNames.has(lib.replace(/^\/+/, '')) && !rootfsNames.has(mergedUsrPath(lib)));
}

/**
 * Writes the runtime into `overlay` (a directory to be appended to a root
 * filesystem tar): usr/local/bin/{node,npm,npx}, usr/local/lib/node_modules/npm,
 * and the listed extra libraries under their merged-/usr paths.
 */
export function writeNodeOverlay(overlay: string, node: HostNode, extraLibs: readonly string[]): void {
  const bin = join(overlay, 'usr/local/bin');
  const lib = join(overlay, 'usr/local/lib/node_modules');
  mkdirSync(bin, { recursive: true, mode: 0o755 });
  mkdirSync(lib, { recursive: true, mode: 0o755 });
  copyFileSync(node.binary, join(bin, 'node'));
  chmodSync(join(bin, 'node'), 0o755);
  cpSync(node.npmDir, join(lib, 'npm'), { recursive: true, verbatimSymlinks: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(bin, 'npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(bin, 'npx'));
  for (const libPath of extraLibs) {
    const dest = join(overlay, mergedUsrPath(libPath));
    mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
    if (!existsSync(dest)) copyFileSync(realpathSync(libPath), dest);
  }
}

