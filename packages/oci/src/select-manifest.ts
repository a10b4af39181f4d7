// Picking the manifest for a platform out of an index / manifest list.
import { NoMatchingPlatformError } from './errors.js';
import { isIndexMediaType, isManifestMediaType } from './media-types.js';
import { formatPlatform, hostPlatform, matchScore, normalizePlatform, parsePlatform } from './platform.js';
import type { Descriptor, Index, Platform } from './types.js';

/**
 * The index entry that best fits `want` (default: the host). Exact variant
 * matches win over compatible ones (see platformMatches); entries without a
 * platform are a last resort, as containerd accepts them; ties go to the
 * first entry. Throws NoMatchingPlatformError listing the available platforms.
 */
export function selectManifest(index: Index, want: Platform | string = hostPlatform()): Descriptor {
  const wanted = typeof want === 'string' ? parsePlatform(want) : want;
  const normalWant = normalizePlatform(wanted);
  const variantAsked = wanted.variant !== undefined;
  let best: Descriptor | undefined;
  let bestScore = 0;
  for (const entry of index.manifests) {
    let score: number;
    if (entry.platform) {
      score = matchScore(normalWant, variantAsked, normalizePlatform(entry.platform));
    } else {
      score = isManifestMediaType(entry.mediaType) || isIndexMediaType(entry.mediaType) ? 1 : 0;
    }
    if (score > bestScore) {
      best = entry;
      bestScore = score;
    }
  }
  if (best === undefined) throw new NoMatchingPlatformError(formatPlatform(normalWant), availablePlatforms(index));
  return best;
}

/** The distinct platforms an index offers, formatted, in index order. */
export function availablePlatforms(index: Index): string[] {
  const seen = new Set<string>();
  for (const entry of index.manifests) {
    seen.add(entry.platform ? formatPlatform(entry.platform) : `(no platform: ${entry.mediaType})`);
  }
  return [...seen];
}
