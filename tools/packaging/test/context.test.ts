// The build context: .dockerignore read as Docker reads it, a context staged
// by it on a small fake repository, and the repository's own .dockerignore
// keeping out installs and outputs while keeping everything the Dockerfile copies.
import { existsSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contextRules, findRepoRoot, isIgnored, parseDockerignore, readDockerfile, stageContext } from '../src/index.js';
import { tempDirs } from './support/temp.js';

const repoRoot = findRepoRoot();
const temp = tempDirs();

/** Every file (and symlink) under `dir`, relative, sorted. */
function listFiles(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true })
    .flatMap((e) => {
      const path = rel ? `${rel}/${e.name}` : e.name;
      return e.isDirectory() ? listFiles(dir, path) : [path];
    })
    .sort();
}

describe('parseDockerignore and isIgnored', () => {
  it('reads patterns as Docker does: comments, blank lines, exceptions, cleaned paths', () => {
    const rules = parseDockerignore('# a comment\n\n  /build/  \n./docs/../notes\n! keep.md\n');
    expect(rules.map((r) => `${r.exception ? '!' : ''}${r.pattern}`)).toEqual(['build', 'notes', '!keep.md']);
  });

  it.each([
    ['**/node_modules', 'node_modules', true],
    ['**/node_modules', 'node_modules/zod/package.json', true],
    ['**/node_modules', 'services/images/node_modules/x', true],
    ['**/dist', 'services/images/dist/main.js', true],
    ['**/dist', 'services/images/distribution.ts', false],
    ['**/dist', 'services/images/src/dist.ts', false],
    ['*.md', 'README.md', true],
    ['*.md', 'deploy/README.md', false],
    ['**/*.md', 'deploy/README.md', true],
    ['deploy/*/Dockerfile', 'deploy/docker/Dockerfile', true],
    ['deploy/*/Dockerfile', 'deploy/docker/x/Dockerfile', false],
    ['deploy/**/Dockerfile', 'deploy/docker/x/Dockerfile', true],
    ['file?.txt', 'file1.txt', true],
    ['file?.txt', 'file12.txt', false],
    ['[ab].txt', 'b.txt', true],
    ['[!ab].txt', 'b.txt', false],
    ['.git', '.git/HEAD', true],
    ['.git', 'sub/.git', false],
    ['a.b', 'axb', false],
  ])('%s against %s: %s', (pattern, path, ignored) => {
    expect(isIgnored(parseDockerignore(pattern), path)).toBe(ignored);
  });

  it('lets the last matching pattern decide, so an exception brings a path back', () => {
    const rules = parseDockerignore('*.md\n!README.md\ndocs\n!docs/keep\n');
    expect(isIgnored(rules, 'CHANGES.md')).toBe(true);
    expect(isIgnored(rules, 'README.md')).toBe(false);
    expect(isIgnored(rules, 'docs/a')).toBe(true);
    expect(isIgnored(rules, 'docs/keep/b')).toBe(false);
  });

  it('refuses an unterminated character class, naming the pattern', () => {
    expect(() => parseDockerignore('src/[ab.ts')).toThrow('.dockerignore: unterminated "[" in "src/[ab.ts"');
  });
});

describe('stageContext', () => {
  function fakeRepo(files: Record<string, string>): string {
    const root = temp('berth-ctx-repo-');
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    return root;
  }

  it('copies what .dockerignore keeps, symlinks as links, and brings back exceptions below excluded directories', () => {
    const root = fakeRepo({
      '.dockerignore': '**/node_modules\n**/dist\n.git\ndocs\n!docs/keep.md\n',
      'package.json': '{}',
      'src/a.ts': 'a',
      'src/dist.ts': 'not an output',
      'dist/a.js': 'x',
      'pkg/b/dist/b.js': 'x',
      'pkg/b/src/b.ts': 'b',
      'node_modules/zod/index.js': 'x',
      'pkg/b/node_modules/y/index.js': 'x',
      '.git/HEAD': 'x',
      'docs/drop.md': 'x',
      'docs/keep.md': 'keep',
    });
    symlinkSync('a.ts', join(root, 'src/link.ts'));
    mkdirSync(join(root, 'empty'));
    const out = join(temp('berth-ctx-out-'), 'ctx');
    stageContext(root, out);
    expect(listFiles(out)).toEqual(['.dockerignore', 'docs/keep.md', 'package.json', 'pkg/b/src/b.ts', 'src/a.ts', 'src/dist.ts', 'src/link.ts']);
    expect(readlinkSync(join(out, 'src/link.ts'))).toBe('a.ts');
    expect(statSync(join(out, 'empty')).isDirectory()).toBe(true);
  });

  it('refuses a repository without .dockerignore', () => {
    const root = fakeRepo({ 'package.json': '{}' });
    expect(() => stageContext(root, join(root, 'out'))).toThrow(`${join(root, '.dockerignore')} is missing`);
    expect(existsSync(join(root, 'out'))).toBe(false);
  });
});

describe("the repository's .dockerignore", () => {
  const rules = contextRules(repoRoot);

  it('leaves out installs, outputs, caches and test state', () => {
    for (const path of ['node_modules/zod/package.json', 'services/images/node_modules/x', 'services/images/dist/main.js', 'packages/cli/bundle/berth.js', 'packages/oci/tsconfig.build.tsbuildinfo', '.git/HEAD', '.nx/workspace-data/x', 'packages/cli/coverage/index.html', 'services/tasks/.berth-test/x']) {
      expect(isIgnored(rules, path), path).toBe(true);
    }
  });

  it('keeps the sources, the lockfile and everything the Dockerfile copies from the context', () => {
    const copied = readDockerfile(join(repoRoot, 'deploy/docker/Dockerfile'))
      .flatMap((s) => s.instructions)
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))
      .map((i) => i.args.split(' ')[0]!);
    expect(new Set(copied)).toEqual(new Set(['.', 'deploy/docker/prepare-runtime.sh']));
    for (const path of ['package.json', 'package-lock.json', 'nx.json', 'tsconfig.base.json', 'deploy/docker/Dockerfile', 'deploy/docker/prepare-runtime.sh', 'services/images/src/main.ts', 'tools/packaging/src/bin.ts', 'packages/cli/scripts/bundle.mjs', 'proto/berth']) {
      expect(existsSync(join(repoRoot, path)), path).toBe(true);
      expect(isIgnored(rules, path), path).toBe(false);
    }
  });
});
