import { readFileSync } from 'node:fs';

// scripts/bundle.mjs writes the version in as BERTH_CLI_VERSION: the bundle's
// chunks do not sit next to package.json, as dist/ does
declare const BERTH_CLI_VERSION: string | undefined;

export const cliVersion = (): string =>
  typeof BERTH_CLI_VERSION === 'string'
    ? BERTH_CLI_VERSION
    : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
