import { createHash } from 'node:crypto';
import { SnapshotError } from './errors.js';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isSha256Digest(value: string): boolean {
  return DIGEST_RE.test(value);
}

function requireDigest(value: string, what: string): void {
  if (!DIGEST_RE.test(value)) {
    throw new SnapshotError('invalid_argument', `${what} ${JSON.stringify(value)} is not a sha256 digest (sha256:<64 hex>)`);
  }
}

/**
 * ChainID of one layer on top of a parent chain, as the OCI image spec
 * defines it: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 */
export function chainIdOf(parentChainId: string | undefined, diffId: string): string {
  requireDigest(diffId, 'diff id');
  if (parentChainId === undefined) return diffId;
  requireDigest(parentChainId, 'parent chain id');
  return `sha256:${createHash('sha256').update(`${parentChainId} ${diffId}`).digest('hex')}`;
}

/** ChainIDs of every prefix of a diff_id list, in order. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  let parent: string | undefined;
  for (const d of diffIds) {
    parent = chainIdOf(parent, d);
    out.push(parent);
  }
  return out;
}
