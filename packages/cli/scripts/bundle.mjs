// Bundles the built CLI (dist/bin.js, after tsc) into bundle/, the package's
// "bin":
// - berth-cli.cjs: the whole CLI in one CommonJS file (lazy imports become
//   lazily run module bodies, so `berth ps` still evaluates only what it uses);
// - berth-cli.cache: V8's code cache for it, written by warm-up runs of a few
//   commands against a stack that is not there;
// - berth.js: the launcher (scripts/launcher.cjs) that runs the bundle with
//   that cache. CommonJS, not ES modules: Node 20 can hand V8 a code cache
//   only through vm.Script.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative as relativePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}bundle`;
const bundleFile = `${outdir}/berth-cli.cjs`;
const entry = `${outdir}/berth.js`;
const cacheFile = `${outdir}/berth-cli.cache`;
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

/**
 * Resolved from node_modules at run time instead of bundled:
 * - @berth/stack (`system up/down/status`): it starts the services, which are
 *   files of their own anyway, and needs better-sqlite3, a native addon.
 * - @berth/bus (`events`): nats, pino and prom-client come with it, a third
 *   of the bundle that every command would read at start for one command.
 * - @grpc/proto-loader: grpc-js requires it only to serve channelz or ORCA,
 *   which the CLI never does; it and protobufjs read .proto files beside them.
 */
const external = ['@berth/stack', '@berth/bus', 'better-sqlite3', '@grpc/proto-loader'];

/**
 * Bundled modules that mention __dirname, __filename or import.meta.url (which
 * would point into bundle/), each with why that is harmless. Any other fails
 * the build: make it external or handle it here.
 */
const relativeToItself = new Map([
  ['dist/version.js', 'package.json is read only without BERTH_CLI_VERSION, which `define` sets'],
  ['dist/host/location.js', 'import.meta.url only where `require` is missing, outside the bundle'],
  ['../../node_modules/commander/lib/command.js', 'in comments only'],
  ['../../node_modules/@grpc/grpc-js/build/src/channelz.js', 'channelz service definition: servers only'],
  ['../../node_modules/@grpc/grpc-js/build/src/orca.js', 'ORCA load reporting: servers only'],
]);

/**
 * Node built-ins that bundled modules require when they load but use only in
 * code no berth command reaches: each becomes a stand-in that requires the
 * built-in on first use. Loading them cost every command's start 3.5 ms
 * (dns 2.1, child_process 0.7, zlib 0.7). Only property access of the
 * stand-in works, so each module is listed after reading how it uses it.
 */
const lazyBuiltins = new Map([
  // dns: resolving host names; the CLI dials unix sockets
  ['../../node_modules/@grpc/grpc-js/build/src/resolver-dns.js', ['dns']],
  // zlib: compressed messages, which berth's services never send
  ['../../node_modules/@grpc/grpc-js/build/src/compression-filter.js', ['zlib']],
  // child_process: executable subcommands (`git-foo` style), which berth has none of
  ['../../node_modules/commander/lib/command.js', ['node:child_process']],
]);
const LAZY_REQUIRE = '__berthLazyRequire';
const lazyBuiltinsPlugin = {
  name: 'lazy-builtins',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      const ids = lazyBuiltins.get(relativePath(root, args.path));
      if (!ids) return undefined;
      let contents = readFileSync(args.path, 'utf8');
      for (const id of ids) {
        const call = new RegExp(`\\brequire\\((['"])${id.replace(/[.:]/g, '\\$&')}\\1\\)`, 'g');
        const found = contents.match(call)?.length ?? 0;
        if (found !== 1) throw new Error(`${args.path}: expected one require of ${id}, found ${found}; check lazyBuiltins in scripts/bundle.mjs`);
        contents = contents.replace(call, `${LAZY_REQUIRE}(${JSON.stringify(id)})`);
      }
      return { contents, loader: 'js' };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
const { metafile } = await build({
  absWorkingDir: root,
  entryPoints: ['dist/bin.js'],
  outfile: bundleFile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external,
  // the bundle does not sit next to package.json, as dist/version.js does
  define: { BERTH_CLI_VERSION: JSON.stringify(version) },
  legalComments: 'none',
  // Smaller is faster to read and hash at every start (−5 to −10 ms of CPU);
  // identifiers are kept, so stack traces still name berth's functions.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // import.meta.url is empty in CommonJS: the check below makes sure no bundled module needs it
  logOverride: { 'empty-import-meta': 'silent' },
  metafile: true,
  plugins: [lazyBuiltinsPlugin],
  // The stand-in for a lazily required built-in (lazyBuiltins); `require` is the launcher's.
  // "use strict" first, as esbuild has it: the bundle stays strict.
  banner: { js: `"use strict";var ${LAZY_REQUIRE}=(id)=>{let m;return new Proxy({},{get:(_,k)=>(m??=require(id))[k]})};` },
});
const unused = [...lazyBuiltins.keys()].filter((input) => !(input in metafile.inputs));
if (unused.length > 0) {
  rmSync(outdir, { recursive: true, force: true });
  throw new Error(`lazyBuiltins lists modules the bundle no longer has: ${unused.join(', ')}`);
}

const relative = Object.keys(metafile.inputs).filter(
  (input) => !relativeToItself.has(input) && /\b__dirname\b|\b__filename\b|\bimport\.meta\.url\b/.test(readFileSync(`${root}${input}`, 'utf8')),
);
if (relative.length > 0) {
  rmSync(outdir, { recursive: true, force: true });
  throw new Error(`bundled modules that find files relative to themselves (see relativeToItself in ${fileURLToPath(import.meta.url)}): ${relative.join(', ')}`);
}

// The launcher runs the bundle inside a function: no #! line in it. The
// external ES modules are imported through the launcher's own import(): one
// in code run by vm.Script fails in Node 20 once a code cache is used.
const externalImport = /\bimport\(("[^"]+")\)/g;
const code = readFileSync(bundleFile, 'utf8')
  .replace(/^#!.*\n/, '')
  .replace(externalImport, (call, id) => {
    if (!external.includes(JSON.parse(id))) throw new Error(`the bundle imports ${id} at run time, which is not external`);
    return `__berthImportExternal(${id})`;
  });
// A script with one non-ASCII character is a two-byte string to V8 and is
// decoded slowly by readFileSync: about 10 ms of every command's start. An
// ASCII bundle also lets the launcher read it as latin1, a plain copy, where
// utf8 decoding cost another 5 ms. esbuild escapes strings but not regular
// expression literals; write \uXXXX there.
const nonAscii = /[^\x00-\x7f]/.exec(code);
if (nonAscii) {
  const line = code.slice(0, nonAscii.index).split('\n').length;
  rmSync(outdir, { recursive: true, force: true });
  throw new Error(`the bundle has a non-ASCII character (${JSON.stringify(nonAscii[0])}) on line ${line}; escape it in the source`);
}
writeFileSync(bundleFile, code);
// bundle/*.js are CommonJS, whatever this package's "type" says
writeFileSync(`${outdir}/package.json`, `${JSON.stringify({ type: 'commonjs' })}\n`);
copyFileSync(`${root}scripts/launcher.cjs`, entry);
chmodSync(entry, 0o755);
// `berth` itself: the client of the CLI host, which runs berth.js when there is none (scripts/client.pl)
const perlCheck = spawnSync('perl', ['-w', '-c', `${root}scripts/client.pl`], { encoding: 'utf8' });
if (perlCheck.status !== 0 || perlCheck.stderr.trim() !== `${root}scripts/client.pl syntax OK`) throw new Error(`scripts/client.pl: ${perlCheck.stderr || perlCheck.error?.message}`);
// One id per build, in the client and beside the bundle for the host to read: a host
// started from an earlier build hands every command back instead of running old code.
const buildId = randomUUID();
const client = readFileSync(`${root}scripts/client.pl`, 'utf8');
if (!client.includes("my $BUILD = '';")) throw new Error("scripts/client.pl: no `my $BUILD = '';` line to stamp the build id on");
writeFileSync(`${outdir}/berth`, client.replace("my $BUILD = '';", `my $BUILD = '${buildId}';`), { mode: 0o755 });
writeFileSync(`${outdir}/build-id`, `${buildId}\n`);

// Warm-up: each command runs against a runtime dir whose sockets are plain
// files (no stack), so it loads and runs its code up to the first call and
// fails there; the launcher adds what it compiled to the cache.
const warmUps = [
  ['--help'],
  ['ps', '-a'],
  ['images'],
  ['run', '--rm', '--network', 'none', 'busybox', 'true'],
  ['run', '-d', '-p', '8080:80', '-e', 'A=1', '-v', '/tmp:/tmp', 'busybox', 'true'],
  ['exec', 'c', 'true'],
  ['logs', 'c'],
  ['inspect', 'c'],
  ['stop', 'c'],
  ['rm', '-f', 'c'],
  ['pull', 'busybox'],
  ['network', 'ls'],
  ['volume', 'ls'],
];
const fakeRuntime = mkdtempSync(join(tmpdir(), 'berth-cli-warm-up-'));
try {
  for (const service of ['images', 'snapshots', 'tasks', 'networking', 'agent']) writeFileSync(join(fakeRuntime, `${service}.sock`), '');
  const env = { ...process.env, BERTH_CLI_WRITE_CODE_CACHE: '1', BERTH_RUNTIME_DIR: fakeRuntime, BERTH_NATS_URL: 'nats://127.0.0.1:1' };
  for (const args of warmUps) {
    const r = spawnSync(process.execPath, [entry, ...args], { env, encoding: 'utf8', timeout: 30_000 });
    if (r.error) throw new Error(`warm-up \`berth ${args.join(' ')}\`: ${r.error.message}`);
  }
} finally {
  rmSync(fakeRuntime, { recursive: true, force: true });
}
if (!existsSync(cacheFile)) throw new Error(`the warm-up runs wrote no ${cacheFile}`);
