#!/usr/bin/env node
// Builds a small busybox image offline from Debian's busybox-static and writes
// it as a docker-archive (`docker save` format) that `berth load` reads.
// Usage: node tools/make-busybox-archive.mjs OUT.tar [name:tag]
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { busyboxImage } from '@berth/testkit';

const [out, name = 'busybox:latest'] = process.argv.slice(2);
if (!out) {
  process.stderr.write('usage: make-busybox-archive.mjs OUT.tar [name:tag]\n');
  process.exit(2);
}
const image = await busyboxImage({});
rmSync(out, { force: true });
execFileSync('skopeo', ['copy', '--quiet', `oci:${image.layoutDir}:${image.refName}`, `docker-archive:${out}:${name}`], {
  stdio: 'inherit',
});
process.stdout.write(`${out}\n`);
