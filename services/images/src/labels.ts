// Label validation shared by content, images and leases: containerd's limits
// (key and value together at most 4096 bytes, keys non-empty).
import { invalidArgument } from './errors.js';

export type Labels = Record<string, string>;

const MAX_LABEL_BYTES = 4096;

/** Checks every label; throws INVALID_ARGUMENT naming the first bad one. */
export function validateLabels(labels: Labels, what: string): Labels {
  for (const [key, value] of Object.entries(labels)) {
    if (key.length === 0) throw invalidArgument(`${what}: label key must not be empty`);
    if (typeof value !== 'string') {
      throw invalidArgument(`${what}: label ${JSON.stringify(key)} must be a string, got ${typeof value}`);
    }
    const bytes = Buffer.byteLength(key) + Buffer.byteLength(value);
    if (bytes > MAX_LABEL_BYTES) {
      throw invalidArgument(
        `${what}: label ${JSON.stringify(key.slice(0, 64))} is ${bytes} bytes, over the limit of ${MAX_LABEL_BYTES}`,
      );
    }
  }
  return labels;
}

/**
 * Applies a label update: with `replace` the result is exactly `update`;
 * otherwise keys are merged and an empty-string value removes the key
 * (containerd's convention for field-masked label updates).
 */
export function applyLabels(current: Labels, update: Labels, replace: boolean): Labels {
  if (replace) return { ...update };
  const next: Labels = { ...current };
  for (const [k, v] of Object.entries(update)) {
    if (v === '') delete next[k];
    else next[k] = v;
  }
  return next;
}
