// The checked-in generated code and descriptor set must be exactly what
// proto/ generates today, and proto/ must pass buf's lint and formatter.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bufBinary, genDir, packageRoot, protoDir } from './paths.js';

const DESCRIPTORS = 'descriptors.binpb';
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-api-'));
  tempDirs.push(dir);
  return dir;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

function buf(args: string[]): string {
  return execFileSync(bufBinary(), args, { cwd: protoDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('generated code', () => {
  it('matches a fresh generation from proto/ byte for byte (run `npm run generate` if not)', () => {
    const outLine = 'out: ../packages/api/src/gen';
    const template = readFileSync(join(protoDir, 'buf.gen.yaml'), 'utf8');
    expect(template).toContain(outLine);
    const dir = tempDir();
    const fresh = join(dir, 'gen');
    const templatePath = join(dir, 'buf.gen.yaml');
    writeFileSync(templatePath, template.replace(outLine, `out: ${fresh}`));
    buf(['generate', '--template', templatePath]);
    buf(['build', '-o', join(fresh, DESCRIPTORS)]);

    const expected = listFiles(fresh);
    expect(expected).toContain(DESCRIPTORS);
    expect(listFiles(genDir), 'generated file set differs: run `npm run generate` in packages/api').toEqual(expected);
    const stale = expected.filter((file) => !readFileSync(join(fresh, file)).equals(readFileSync(join(genDir, file))));
    expect(stale, 'generated files differ from proto/: run `npm run generate` in packages/api').toEqual([]);
  });

  it('re-exports every generated berth module from its package barrel', () => {
    const modules = listFiles(join(genDir, 'berth')).filter((file) => file.endsWith('.ts'));
    expect(modules.length).toBeGreaterThan(0);
    const missing = modules.filter((file) => {
      const protoPackage = file.split('/')[0] ?? '';
      const barrel = readFileSync(join(packageRoot, 'src', `${protoPackage}.ts`), 'utf8');
      return !barrel.includes(`'./gen/berth/${file.replace(/\.ts$/, '.js')}'`);
    });
    expect(missing).toEqual([]);
  });
});

describe('proto/', () => {
  it('passes buf lint', () => {
    expect(buf(['lint'])).toBe('');
  });

  it('is formatted as buf format writes it', () => {
    expect(buf(['format', '-d', '--exit-code'])).toBe('');
  });
});
