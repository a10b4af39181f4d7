import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** The hex part of a `sha256:<hex>` digest; throws on anything else. */
export function digestHex(digest: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m?.[1]) throw new Error(`not a sha256 digest: ${JSON.stringify(digest)}`);
  return m[1];
}
