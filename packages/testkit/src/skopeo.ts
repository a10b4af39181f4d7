// skopeo with a private policy, registries.conf and auth file, so the host's
// container configuration (mirrors, stored credentials) never leaks into a
// test.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary, run, type RunResult } from './process.js';

/** Runs `skopeo --policy <accept-anything> <args>` in an isolated configuration. */
export async function skopeo(args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  const bin = requireBinary('skopeo', 'apt-get install skopeo');
  const dir = await mkdtemp(join(tmpdir(), 'berth-skopeo-'));
  try {
    const policy = join(dir, 'policy.json');
    const registriesConf = join(dir, 'registries.conf');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await writeFile(registriesConf, 'unqualified-search-registries = []\n');
    return await run(bin, ['--policy', policy, '--tmpdir', dir, ...args], {
      env: {
        ...process.env,
        CONTAINERS_REGISTRIES_CONF: registriesConf,
        REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
        XDG_RUNTIME_DIR: dir,
        HOME: dir,
      },
      timeoutMs: opts.timeoutMs ?? 10 * 60_000,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
