// Bundles the built CLI (dist/bin.js, after tsc) into bundle/berth.js, the
// package's "bin": the entry plus a chunk under bundle/chunks/ for each module
// it imports lazily (commander, the command tree, each command with the gRPC
// API it uses), so `berth ps` reads a few files instead of resolving and
// loading hundreds of ES modules.
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}bundle`;
const entry = `${outdir}/berth.js`;
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

/**
 * Resolved from node_modules at run time instead of bundled:
 * - @berth/stack (`system up/down/status`): it starts the services, which are
 *   files of their own anyway, and needs better-sqlite3, a native addon.
 * - @grpc/proto-loader: grpc-js requires it only to serve channelz or ORCA,
 *   which the CLI never does; it and protobufjs read .proto files beside them.
 */
const external = ['@berth/stack', 'better-sqlite3', '@grpc/proto-loader'];

/**
 * Bundled modules that mention __dirname, __filename or import.meta.url (which
 * would point into bundle/), each with why that is harmless. Any other fails
 * the build: make it external or handle it here.
 */
const relativeToItself = new Map([
  ['dist/version.js', 'package.json is read only without BERTH_CLI_VERSION, which `define` sets'],
  ['../../node_modules/commander/lib/command.js', 'in comments only'],
  ['../../node_modules/@grpc/grpc-js/build/src/channelz.js', 'channelz service definition: servers only'],
  ['../../node_modules/@grpc/grpc-js/build/src/orca.js', 'ORCA load reporting: servers only'],
  ['../../node_modules/pino/lib/transport.js', 'worker transports, which @berth/telemetry does not use'],
  ['../../node_modules/thread-stream/index.js', 'the worker behind pino transports'],
]);

rmSync(outdir, { recursive: true, force: true });
const { metafile } = await build({
  absWorkingDir: root,
  entryPoints: { berth: 'dist/bin.js' },
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // chunks do not sit next to package.json, as dist/version.js does
  define: { BERTH_CLI_VERSION: JSON.stringify(version) },
  // for the bundled CommonJS (commander, grpc-js, nats, pino), which require() Node's modules and each other
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module';\nconst require = __berthCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});

const relative = Object.keys(metafile.inputs).filter(
  (input) => !relativeToItself.has(input) && /\b__dirname\b|\b__filename\b|\bimport\.meta\.url\b/.test(readFileSync(`${root}${input}`, 'utf8')),
);
if (relative.length > 0) {
  rmSync(outdir, { recursive: true, force: true });
  throw new Error(`bundled modules that find files relative to themselves (see relativeToItself in ${fileURLToPath(import.meta.url)}): ${relative.join(', ')}`);
}

// the entry keeps dist/bin.js's #! line: the kernel runs it as `berth`
if (!readFileSync(entry, 'utf8').startsWith('#!')) throw new Error(`${entry} has no #! line`);
chmodSync(entry, 0o755);
