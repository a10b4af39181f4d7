// Field readers for validating untrusted JSON. Each names the full field path
// in its error (e.g. `manifest.layers[2].size: expected ...`).
import { InvalidDocumentError } from './errors.js';

export type JsonObject = Record<string, unknown>;

/** Describes a JSON value for an error message: its type, and the value itself when short. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    return value.length <= 80 ? `string ${JSON.stringify(value)}` : `a string of ${value.length} characters`;
  }
  if (value === undefined) return 'nothing';
  return `${typeof value} ${String(value)}`;
}

/** `path.key`, or `path["key"]` when the key is not a plain identifier (e.g. "os.version"). */
export function fieldPath(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

export function fail(path: string, reason: string, cause?: unknown): never {
  throw new InvalidDocumentError(path, reason, cause === undefined ? undefined : { cause });
}

export function expectObject(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(path, `expected an object, got ${describe(value)}`);
  }
  return value as JsonObject;
}

export function requiredString(obj: JsonObject, key: string, path: string): string {
  const p = fieldPath(path, key);
  const value = obj[key];
  if (value === undefined) fail(p, 'missing required field');
  if (typeof value !== 'string') fail(p, `expected a string, got ${describe(value)}`);
  if (value === '') fail(p, 'must not be empty');
  return value;
}

/** An optional string; Docker writes null for unset fields, which counts as absent. */
export function optionalString(obj: JsonObject, key: string, path: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(fieldPath(path, key), `expected a string, got ${describe(value)}`);
  return value;
}

export function optionalBoolean(obj: JsonObject, key: string, path: string): boolean | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') fail(fieldPath(path, key), `expected a boolean, got ${describe(value)}`);
  return value;
}

export function expectArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) fail(path, `expected an array, got ${describe(value)}`);
  return value;
}

export function requiredArray(obj: JsonObject, key: string, path: string): unknown[] {
  const p = fieldPath(path, key);
  if (obj[key] === undefined) fail(p, 'missing required field');
  return expectArray(obj[key], p);
}

export function optionalStringArray(obj: JsonObject, key: string, path: string): string[] | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  const p = fieldPath(path, key);
  return expectArray(value, p).map((item, i) => {
    if (typeof item !== 'string') fail(`${p}[${i}]`, `expected a string, got ${describe(item)}`);
    return item;
  });
}

export function optionalStringMap(obj: JsonObject, key: string, path: string): Record<string, string> | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  const p = fieldPath(path, key);
  const map = expectObject(value, p);
  // fromEntries defines own properties, so a "__proto__" key stays data.
  return Object.fromEntries(
    Object.entries(map).map(([k, v]) => {
      if (typeof v !== 'string') fail(fieldPath(p, k), `expected a string, got ${describe(v)}`);
      return [k, v];
    }),
  );
}

/** A set encoded as an object whose values are empty objects (ExposedPorts, Volumes). */
export function optionalEmptyObjectSet(
  obj: JsonObject,
  key: string,
  path: string,
): Record<string, Record<string, never>> | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  const p = fieldPath(path, key);
  const map = expectObject(value, p);
  return Object.fromEntries(
    Object.entries(map).map(([k, v]) => {
      // Docker writes {} here; some tools write null. Contents are reserved, so ignore them.
      if (v !== null) expectObject(v, fieldPath(p, k));
      return [k, {}];
    }),
  );
}

export function requiredSize(obj: JsonObject, key: string, path: string): number {
  const p = fieldPath(path, key);
  const value = obj[key];
  if (value === undefined) fail(p, 'missing required field');
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(p, `expected a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

/** Both manifests and indexes must say schemaVersion 2; 1 is Docker's retired schema 1. */
export function requireSchemaVersion2(obj: JsonObject, path: string): 2 {
  const p = fieldPath(path, 'schemaVersion');
  const value = obj.schemaVersion;
  if (value === undefined) fail(p, 'missing required field (must be 2)');
  if (value === 1) fail(p, 'is 1: Docker schema 1 manifests are not supported');
  if (value !== 2) fail(p, `must be 2, got ${describe(value)}`);
  return 2;
}
