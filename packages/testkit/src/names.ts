import { randomBytes } from 'node:crypto';

/** Linux interface names hold at most 15 bytes (IFNAMSIZ 16 with the NUL). */
export const IFNAMSIZ_MAX = 15;

const RANDOM_CHARS = 6;

/**
 * prefix + '-' + random lowercase letters/digits, at most maxLen characters
 * (default 15, so it fits a bridge, veth or netns name); the prefix is
 * shortened when needed to keep 6 random characters.
 */
export function uniqueName(prefix: string, maxLen = IFNAMSIZ_MAX): string {
  if (!/^[A-Za-z0-9_.-]*$/.test(prefix)) {
    throw new Error(`uniqueName prefix ${JSON.stringify(prefix)} may only hold letters, digits, '_', '.', '-'`);
  }
  if (maxLen < RANDOM_CHARS) throw new Error(`uniqueName maxLen ${maxLen} leaves no room for ${RANDOM_CHARS} random characters`);
  let suffix = '';
  while (suffix.length < RANDOM_CHARS) {
    suffix += randomBytes(8)
      .toString('base64')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '');
  }
  suffix = suffix.slice(0, RANDOM_CHARS);
  const room = maxLen - RANDOM_CHARS - 1;
  const head = room > 0 ? prefix.slice(0, room) : '';
  return head ? `${head}-${suffix}` : suffix;
}
