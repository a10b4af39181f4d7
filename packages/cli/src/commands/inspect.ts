// `inspect`: containers, images or networks by name or id, as docker inspect
// does: the first kind that knows the name wins, unless --type says which.
import { withSession } from '../client/session.js';
import { BerthError, renderInspect, UsageError, type Format } from '../output.js';
import type { GlobalOptions } from '../stack-options.js';
import { inspectObjects as containerObjects } from './containers.js';
import { inspectImageObjects } from './images.js';
import { inspectOne as networkObject } from './networks.js';

const TYPES = ['container', 'image', 'network'] as const;
type Kind = (typeof TYPES)[number];

export async function inspect(g: GlobalOptions, refs: string[], o: { type?: string }, format: Format): Promise<number> {
  if (o.type !== undefined && !(TYPES as readonly string[]).includes(o.type)) {
    throw new UsageError(`invalid --type "${o.type}": use container, image or network`);
  }
  const kinds: readonly Kind[] = o.type ? [o.type as Kind] : TYPES;
  return withSession(g, async (s) => {
    const objects: unknown[] = [];
    const missing: string[] = [];
    for (const ref of refs) {
      let found: unknown;
      for (const kind of kinds) {
        if (kind === 'container') found = (await containerObjects(s, [ref])).objects[0];
        else if (kind === 'image') {
          try {
            found = (await inspectImageObjects(s, [ref])).objects[0];
          } catch (err) {
            if (!(err instanceof UsageError)) throw err; // not an image reference at all
          }
        }
        else {
          try {
            found = await networkObject(s, ref);
          } catch (err) {
            if (!(err instanceof BerthError) || !err.message.startsWith('No such network')) throw err;
          }
        }
        if (found !== undefined) break;
      }
      if (found === undefined) missing.push(ref);
      else objects.push(found);
    }
    g.io.stdout.write(renderInspect(objects, format));
    for (const ref of missing) g.io.stderr.write(`berth: No such object: ${ref}\n`);
    return missing.length > 0 ? 125 : 0;
  });
}
