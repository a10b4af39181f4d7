// The berth contestant runs the CLI as a user's shell does: the "bin" of
// @berth/cli (its bundle), started directly.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { berthCliBin } from '../src/peers/berth.js';

const cliDir = fileURLToPath(new URL('../../../packages/cli/', import.meta.url));

describe('berthCliBin', () => {
  it("is @berth/cli's bin, an executable that answers --version", () => {
    const bin = berthCliBin();
    const manifest = JSON.parse(readFileSync(`${cliDir}package.json`, 'utf8')) as { version: string; bin: { berth: string } };
    expect(bin).toBe(fileURLToPath(new URL(manifest.bin.berth, `file://${cliDir}`)));
    accessSync(bin, constants.X_OK);
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    expect(r.stdout, r.stderr).toBe(`${manifest.version}\n`);
  });
});
