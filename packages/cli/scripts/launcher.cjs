#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS BERTH_NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --
// `berth`: runs berth-cli.cjs, the CLI's esbuild bundle, with the V8 code
// cache that the build wrote beside it. Node 20 keeps no compiled code
// between runs, and compiling the bundle's top level on every start was
// about a third of a short command's CPU time. A cache V8 rejects (another
// Node version, other V8 flags, a changed bundle) only costs the compile it
// would have saved. The #! line is dist/bin.js's (see src/bin.ts).
'use strict';
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const vm = require('node:vm');

const file = join(__dirname, 'berth-cli.cjs');
const cacheFile = join(__dirname, 'berth-cli.cache');

let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // not built (or removed): compile as Node would
}
// CommonJS's own wrapper, on the first line so that line numbers stay right.
// latin1: the build makes sure the bundle is ASCII, and latin1 is a plain copy (utf8 decoding cost 5 ms).
const wrapped = `(function (exports, require, module, __filename, __dirname, __berthImportExternal) {${readFileSync(file, 'latin1')}\n})`;
const script = new vm.Script(wrapped, { filename: file, cachedData });
if (process.env.BERTH_CLI_CODE_CACHE_REPORT === '1') {
  const verdict = cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'accepted';
  process.stderr.write(`berth: code cache ${verdict}\n`);
}

if (process.env.BERTH_CLI_WRITE_CODE_CACHE === '1') {
  // The build's warm-up runs (scripts/bundle.mjs): each adds what its command compiled.
  process.on('exit', () => {
    writeFileSync(`${cacheFile}.tmp`, script.createCachedData());
    renameSync(`${cacheFile}.tmp`, cacheFile);
  });
}

const cli = { exports: {} };
// The modules left outside the bundle (@berth/stack) are ES modules: imported from here, from node_modules.
const importExternal = (id) => import(id);
script.runInThisContext()(cli.exports, createRequire(file), cli, file, __dirname, importExternal);
