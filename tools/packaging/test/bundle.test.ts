// Bundles: the production closure of a workspace package, laid out so that
// Node resolves every import as in the installed tree, with nothing a build
// or test needs; checked on the real workspace and on small fake ones.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRepoRoot, productionClosure, shipsAtRuntime, workspaceOutputs, writeBundle, type BundleManifest } from '../src/index.js';
import { tempDirs } from './support/temp.js';

const repoRoot = findRepoRoot();
const temp = tempDirs();

/** A fake workspace: files given as path -> package.json object (or text). */
function fakeRepo(files: Record<string, unknown>): string {
  const root = temp('berth-fake-repo-');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return root;
}

describe('writeBundle on the real workspace', () => {
  let out: string;
  let manifest: BundleManifest;

  it('bundles the images service with its workspace and registry dependencies', () => {
    out = join(temp('berth-bundle-'), 'images');
    manifest = writeBundle(repoRoot, 'services/images', out);
    expect(manifest.entry).toBe('node_modules/@berth/images-service/dist/main.js');
    const names = manifest.packages.map((p) => p.name);
    for (const n of ['@berth/images-service', '@berth/service-kit', '@berth/api', '@berth/store', 'better-sqlite3', '@grpc/grpc-js', 'nats', 'zod']) {
      expect(names, n).toContain(n);
    }
    // nothing only a build or a test needs
    for (const n of ['typescript', 'vitest', 'nx', '@berth/testkit', 'testcontainers', '@bufbuild/buf']) expect(names, n).not.toContain(n);
    expect(JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8'))).toEqual(manifest);
  });

  it('ships workspace packages as their manifest and dist only, and no source maps or declarations', () => {
    expect(readdirSync(join(out, 'node_modules/@berth/service-kit')).sort()).toEqual(['dist', 'package.json']);
    const files = execFileSync('find', [out, '-type', 'f', '(', '-name', '*.map', '-o', '-name', '*.d.ts', ')']).toString().trim();
    expect(files).toBe('');
    expect(readdirSync(join(out, 'node_modules/better-sqlite3/build/Release')).filter((f) => !f.endsWith('.node'))).toEqual([]);
  });

  it('runs from its own directory alone: the service module loads and SQLite works', () => {
    const script = [
      `const svc = await import('./node_modules/@berth/images-service/dist/index.js');`,
      `if (typeof svc.imagesServiceSpec?.setup !== 'function') throw new Error('no spec');`,
      `const { default: Database } = await import('./node_modules/better-sqlite3/lib/index.js');`,
      `process.stdout.write(JSON.stringify(new Database(':memory:').prepare('select 41 + 1 as x').get()));`,
    ].join('\n');
    // cwd is the bundle, which sits in a temp dir with no node_modules above it
    const res = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: out }).toString();
    expect(JSON.parse(res)).toEqual({ x: 42 });
  });

  it('puts the health probe in bin/', () => {
    expect(readFileSync(join(out, manifest.healthProbe), 'utf8')).toMatch(/grpc\.health\.v1/);
  });
});

describe('writeBundle of the CLI', () => {
  it('ships its esbuild bundle/ beside dist/, and the berth command runs from the bundle alone', () => {
    const out = join(temp('berth-bundle-'), 'cli');
    const manifest = writeBundle(repoRoot, 'packages/cli', out);
    // `berth`: the CLI host's client, which runs bundle/berth.js itself when no host serves (here: none)
    expect(manifest.entry).toBe('node_modules/@berth/cli/bundle/berth');
    expect(readdirSync(join(out, 'node_modules/@berth/cli')).sort()).toEqual(['bundle', 'dist', 'package.json']);

    const runtimeDir = temp('berth-bundle-cli-run-');
    // through its #! line, as the image's ENTRYPOINT runs it; the bundle sits in a temp dir with no node_modules above it
    const berth = (...args: string[]) =>
      spawnSync(join(out, manifest.entry), args, {
        cwd: out,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, BERTH_ROOT: join(runtimeDir, 'root'), BERTH_RUNTIME_DIR: runtimeDir, BERTH_NATS_PORT: '1' },
      });
    const version = berth('--version');
    expect(version.stdout, version.stderr).toBe(`${manifest.version}\n`);
    expect(berth('--help').stdout).toMatch(/^Usage: berth /);
    // @berth/stack, which the esbuild bundle leaves out, comes from the bundle's node_modules
    const status = berth('system', 'status', '--format', 'json');
    expect(status.status, status.stderr).toBe(3);
    expect((JSON.parse(status.stdout) as { name: string; running: boolean }[]).map((c) => [c.name, c.running])).toEqual(
      ['nats', 'snapshots', 'images', 'networking', 'agent', 'tasks', 'cli-host'].map((name) => [name, false]),
    );
    // a command loads its chunk with gRPC and the tasks API, and tries the socket
    writeFileSync(join(runtimeDir, 'tasks.sock'), '');
    const ps = berth('ps');
    expect(ps.status).toBe(125);
    expect(ps.stderr).toBe(`berth: cannot connect to the berth tasks service at ${join(runtimeDir, 'tasks.sock')} (nothing answers there): the berth stack is not running; start it with \`berth system up\`\n`);
  });
});

describe('workspaceOutputs', () => {
  it('is dist/ and the top of each bin outside it', () => {
    expect(workspaceOutputs({ name: 'a' })).toEqual(['dist/']);
    expect(workspaceOutputs({ name: 'a', bin: { a: './dist/main.js' } })).toEqual(['dist/']);
    expect(workspaceOutputs({ name: 'a', bin: { a: './bundle/a.js' } })).toEqual(['dist/', 'bundle/']);
    expect(workspaceOutputs({ name: 'a', bin: 'cli.js' })).toEqual(['dist/', 'cli.js']);
  });
});

describe('productionClosure', () => {
  it("mirrors the installed layout: hoisted stays hoisted, a workspace's nested copy goes under that workspace", () => {
    const root = fakeRepo({
      'package.json': { name: 'root', workspaces: ['pkgs/*'] },
      'pkgs/app/package.json': { name: 'app', version: '1.0.0', dependencies: { lib: '*', dep: '^2' } },
      'pkgs/app/node_modules/dep/package.json': { name: 'dep', version: '2.0.0', dependencies: { leaf: '*' } },
      'pkgs/lib/package.json': { name: 'lib', version: '1.0.0', dependencies: { dep: '^1' }, devDependencies: { tool: '*' } },
      'node_modules/dep/package.json': { name: 'dep', version: '1.0.0' },
      'node_modules/leaf/package.json': { name: 'leaf', version: '3.0.0', optionalDependencies: { absent: '*' } },
      'node_modules/tool/package.json': { name: 'tool', version: '9.9.9' },
    });
    // npm links workspaces into node_modules; resolution must see through the links
    execFileSync('ln', ['-s', '../pkgs/lib', join(root, 'node_modules/lib')]);
    const closure = productionClosure(root, 'pkgs/app').map((p) => `${p.target} ${p.name}@${p.version} ${p.kind}`);
    expect(closure).toEqual([
      'node_modules/app app@1.0.0 workspace',
      'node_modules/app/node_modules/dep dep@2.0.0 registry',
      'node_modules/dep dep@1.0.0 registry',
      'node_modules/leaf leaf@3.0.0 registry',
      'node_modules/lib lib@1.0.0 workspace',
    ].sort());
  });

  it('fails naming the package and the dependency that is not installed', () => {
    const root = fakeRepo({
      'package.json': { name: 'root', workspaces: ['pkgs/*'] },
      'pkgs/app/package.json': { name: 'app', dependencies: { 'left-pad': '^1' } },
    });
    expect(() => productionClosure(root, 'pkgs/app')).toThrow('app (pkgs/app) depends on left-pad, which is not installed');
  });

  it('refuses a directory that is not a workspace package', () => {
    const root = fakeRepo({ 'package.json': { name: 'root', workspaces: ['pkgs/*'] }, 'other/package.json': { name: 'other' } });
    expect(() => productionClosure(root, 'other')).toThrow('other is not a workspace package');
  });

  it('writeBundle refuses a workspace package that was not built', () => {
    const root = fakeRepo({
      'package.json': { name: 'root', workspaces: ['pkgs/*'] },
      'pkgs/app/package.json': { name: 'app', bin: { app: './dist/main.js' } },
    });
    const out = join(temp('berth-bundle-'), 'app');
    expect(() => writeBundle(root, 'pkgs/app', out)).toThrow(/app has no dist\/ at .*pkgs\/app\/dist: build it first/);
    expect(existsSync(join(out, 'bundle.json'))).toBe(false);
  });

  it('writeBundle refuses a workspace package whose bin outside dist/ was not built', () => {
    const root = fakeRepo({
      'package.json': { name: 'root', workspaces: ['pkgs/*'] },
      'pkgs/app/package.json': { name: 'app', bin: { app: './bundle/app.js' } },
      'pkgs/app/dist/index.js': 'export {};',
    });
    const out = join(temp('berth-bundle-'), 'app');
    expect(() => writeBundle(root, 'pkgs/app', out)).toThrow(/app has no bundle\/ at .*pkgs\/app\/bundle: build it first/);
  });
});

describe('shipsAtRuntime', () => {
  it('leaves out source maps, declarations, and what a native addon build leaves besides .node files', () => {
    expect(shipsAtRuntime('lib/index.js', false)).toBe(true);
    expect(shipsAtRuntime('lib/index.js.map', false)).toBe(false);
    expect(shipsAtRuntime('types/index.d.ts', false)).toBe(false);
    expect(shipsAtRuntime('src/index.js', false)).toBe(true); // a JS package's src/ may be its code
    expect(shipsAtRuntime('src/addon.cpp', true)).toBe(false);
    expect(shipsAtRuntime('deps/sqlite3/sqlite3.c', true)).toBe(false);
    expect(shipsAtRuntime('build', true)).toBe(true);
    expect(shipsAtRuntime('build/Release', true)).toBe(true);
    expect(shipsAtRuntime('build/Release/addon.node', true)).toBe(true);
    expect(shipsAtRuntime('build/Release/obj.target', true)).toBe(false);
    expect(shipsAtRuntime('build/Release/sqlite3.a', true)).toBe(false);
    expect(shipsAtRuntime('build/Makefile', true)).toBe(false);
    expect(shipsAtRuntime('lib/database.js', true)).toBe(true);
  });
});
