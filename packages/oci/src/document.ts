// Turning untrusted bytes into a JSON value: size bound first, then strict
// UTF-8, then JSON, each failure naming the document.
import { DocumentTooLargeError, InvalidDocumentError } from './errors.js';

/** Largest manifest, index or image config accepted (4 MiB), as registries commonly enforce. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface ParseOptions {
  /** Overrides MAX_MANIFEST_BYTES. */
  maxBytes?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `what` names the document in errors ("manifest", "index", ...). */
export function readJsonDocument(bytes: Uint8Array | string, what: string, options: ParseOptions = {}): unknown {
  const limit = options.maxBytes ?? MAX_MANIFEST_BYTES;
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.byteLength;
  if (size > limit) throw new DocumentTooLargeError(what, size, limit);
  let text: string;
  if (typeof bytes === 'string') {
    text = bytes;
  } else {
    try {
      text = utf8.decode(bytes);
    } catch (err) {
      throw new InvalidDocumentError(what, 'not valid UTF-8', { cause: err });
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new InvalidDocumentError(what, `invalid JSON: ${detail}`, { cause: err });
  }
}
