// Chain IDs, as the OCI image spec (config.md, "Layer ChainID") defines them:
//   ChainID(L0) = DiffID(L0)
//   ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))
// They name a stack of applied layers, so a snapshot for a given chain can be
// shared by every image whose first n layers are identical.
import { createHash } from 'node:crypto';
import { parseDigest, type Digest } from './digest.js';
import { InvalidDigestError } from './errors.js';

/** Chain IDs for each prefix of `diffIds` (same length, same order). Throws on an invalid diff ID. */
export function chainIds(diffIds: readonly string[]): Digest[] {
  const out: Digest[] = [];
  let previous: Digest | undefined;
  diffIds.forEach((diffId, i) => {
    let parsed;
    try {
      parsed = parseDigest(diffId);
    } catch (err) {
      if (err instanceof InvalidDigestError) {
        throw new InvalidDigestError(diffId, err.reason, `diff_ids[${i}]`);
      }
      throw err;
    }
    const next: Digest =
      previous === undefined
        ? parsed.digest
        : `sha256:${createHash('sha256').update(`${previous} ${parsed.digest}`).digest('hex')}`;
    out.push(next);
    previous = next;
  });
  return out;
}

/** The chain ID of the whole stack (the last element of chainIds), or undefined for no layers. */
export function chainId(diffIds: readonly string[]): Digest | undefined {
  return chainIds(diffIds).at(-1);
}
