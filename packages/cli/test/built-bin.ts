// The berth binary the tests run: the package's "bin" (bundle/berth, the
// client of the CLI host, which runs bundle/berth.js itself when no host
// serves; both made by `npm run build`), started as a shell starts it,
// through its #! line, so that what ships is what is tested. Suites with a
// stack up (`berth system up`) run their commands through its CLI host.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { bin: { berth: string } };

export const BIN = fileURLToPath(new URL(`../${manifest.bin.berth}`, import.meta.url));

/** Throws, saying how to make it, when the bundle is missing. */
export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (npx nx run @berth/cli:build)`);
}
