// JSON on the wire, with errors that say what was being encoded or decoded.
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeJson(value: unknown, what: string): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new Error(`cannot encode ${what} as JSON: ${(err as Error).message}`, { cause: err });
  }
  // undefined (or a function) has no JSON form; send null rather than nothing
  return encoder.encode(text ?? 'null');
}

export function decodeJson(data: Uint8Array | string, what: string): unknown {
  let text: string;
  try {
    text = typeof data === 'string' ? data : decoder.decode(data);
  } catch {
    throw new Error(`${what} is not valid UTF-8 (${data.length} bytes)`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const preview = text.length > 80 ? `${text.slice(0, 80)}…` : text;
    throw new Error(`${what} is not JSON (${(err as Error).message}): ${JSON.stringify(preview)}`, { cause: err });
  }
}
