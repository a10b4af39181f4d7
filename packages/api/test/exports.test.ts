// The package's subpath exports, as another package imports them (a plain
// Node process resolving "@berth/api/..." to dist/): each loads, and none of
// them, nor the root, pulls in @grpc/proto-loader and protobufjs until the
// descriptor set is asked for.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from './paths.js';

const exportsMap = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports;
const specifiers = Object.keys(exportsMap).map((key) => (key === '.' ? '@berth/api' : `@berth/api/${key.slice(2)}`));

/** Runs an ES module in a fresh Node process from the package root; its stdout parsed as JSON. */
function runModule(source: string): unknown {
  if (!existsSync(join(packageRoot, 'dist', 'index.js'))) {
    throw new Error(`${join(packageRoot, 'dist')} is missing: run \`npm run build\` in packages/api first`);
  }
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', source], { cwd: packageRoot, encoding: 'utf8' });
  return JSON.parse(out);
}

const LOADED_CJS = `
import { createRequire } from 'node:module';
const cache = () => Object.keys(createRequire(import.meta.url).cache);
const loaded = (name) => cache().some((p) => p.includes('/node_modules/' + name + '/'));
`;

describe('package exports', () => {
  it('every subpath loads and has exports', () => {
    const counts = runModule(`
      const out = {};
      for (const s of ${JSON.stringify(specifiers)}) out[s] = Object.keys(await import(s)).length;
      console.log(JSON.stringify(out));
    `) as Record<string, number>;
    expect(Object.keys(counts).sort()).toEqual([...specifiers].sort());
    for (const [s, n] of Object.entries(counts)) expect(n, s).toBeGreaterThan(0);
  });

  it('a namespace subpath loads without the descriptor machinery', () => {
    const r = runModule(`${LOADED_CJS}
      const tasks = await import('@berth/api/tasks');
      console.log(JSON.stringify({ client: typeof tasks.ContainersClient, protoLoader: loaded('@grpc/proto-loader'), protobufjs: loaded('protobufjs') }));
    `);
    expect(r).toEqual({ client: 'function', protoLoader: false, protobufjs: false });
  });

  it('the root and the descriptors subpath load proto-loader only when the descriptor set is asked for', () => {
    const r = runModule(`${LOADED_CJS}
      const root = await import('@berth/api');
      const sub = await import('@berth/api/descriptors');
      const before = loaded('@grpc/proto-loader') || loaded('protobufjs');
      const services = Object.keys(sub.loadPackageDefinition()).filter((k) => k.startsWith('berth.tasks.v1.')).length;
      console.log(JSON.stringify({ same: root.loadPackageDefinition === sub.loadPackageDefinition, before, after: loaded('@grpc/proto-loader'), services }));
    `) as { same: boolean; before: boolean; after: boolean; services: number };
    expect(r).toMatchObject({ same: true, before: false, after: true });
    expect(r.services).toBeGreaterThan(0);
  });
});
