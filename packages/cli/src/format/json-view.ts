// Records as `inspect` prints them: the message's canonical JSON, with the
// free-form `*_json` byte fields (runtime spec, image config, conflists)
// shown as the JSON they hold instead of base64.

/**
 * Replaces each "<name>Json" base64 field holding JSON with "<name>" holding
 * the parsed value (or "<name>Json" when "<name>" is taken, as InspectImage's
 * config descriptor takes "config"), recursively.
 */
export function expandJsonFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expandJsonFields);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const m = /^(.+)Json$/.exec(key);
    if (m && typeof v === 'string') {
      try {
        out[m[1]! in value ? key : m[1]!] = JSON.parse(Buffer.from(v, 'base64').toString('utf8'));
        continue;
      } catch {
        // not JSON after all: keep the field as it came
      }
    }
    out[key] = expandJsonFields(v);
  }
  return out;
}

/** A message through its codec's toJSON, then expandJsonFields. */
export function jsonView<T>(codec: { toJSON(message: T): unknown }, message: T): unknown {
  return expandJsonFields(codec.toJSON(message));
}
