// Image configs: OCI image config and Docker container image config. Only
// the fields berth uses are kept; Docker's nulls are treated as absent.
import { digestAt } from './descriptor.js';
import { readJsonDocument, type ParseOptions } from './document.js';
import {
  describe,
  expectArray,
  expectObject,
  fail,
  fieldPath,
  optionalBoolean,
  optionalEmptyObjectSet,
  optionalString,
  optionalStringArray,
  optionalStringMap,
  requiredArray,
  requiredString,
} from './fields.js';
import type { History, ImageConfig, ImageRuntimeConfig, RootFs } from './types.js';

/** Parses and validates an image config from its raw bytes (size-bounded; see ParseOptions). */
export function parseImageConfig(bytes: Uint8Array | string, options?: ParseOptions): ImageConfig {
  return validateImageConfig(readJsonDocument(bytes, 'config', options), 'config');
}

/** Validates an already-parsed JSON value as an image config; `path` prefixes error messages. */
export function validateImageConfig(value: unknown, path = 'config'): ImageConfig {
  const obj = expectObject(value, path);
  const rootfsPath = fieldPath(path, 'rootfs');
  if (obj.rootfs === undefined) fail(rootfsPath, 'missing required field');
  const config: ImageConfig = {
    architecture: requiredString(obj, 'architecture', path),
    os: requiredString(obj, 'os', path),
    rootfs: parseRootFs(obj.rootfs, rootfsPath),
  };
  assign(config, 'created', optionalString(obj, 'created', path));
  assign(config, 'author', optionalString(obj, 'author', path));
  assign(config, 'os.version', optionalString(obj, 'os.version', path));
  assign(config, 'os.features', optionalStringArray(obj, 'os.features', path));
  const variant = optionalString(obj, 'variant', path);
  if (variant !== '') assign(config, 'variant', variant);
  if (obj.config !== undefined && obj.config !== null) {
    config.config = parseRuntimeConfig(obj.config, fieldPath(path, 'config'));
  }
  if (obj.history !== undefined && obj.history !== null) {
    const historyPath = fieldPath(path, 'history');
    config.history = expectArray(obj.history, historyPath).map((h, i) => parseHistory(h, `${historyPath}[${i}]`));
  }
  return config;
}

function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

function parseRootFs(value: unknown, path: string): RootFs {
  const obj = expectObject(value, path);
  const type = requiredString(obj, 'type', path);
  if (type !== 'layers') fail(fieldPath(path, 'type'), `must be "layers", got ${describe(type)}`);
  const diffIdsPath = fieldPath(path, 'diff_ids');
  const diffIds = requiredArray(obj, 'diff_ids', path).map((d, i) => {
    const p = `${diffIdsPath}[${i}]`;
    if (typeof d !== 'string') fail(p, `expected a digest string, got ${describe(d)}`);
    return digestAt(d, p);
  });
  return { type: 'layers', diff_ids: diffIds };
}

function parseRuntimeConfig(value: unknown, path: string): ImageRuntimeConfig {
  const obj = expectObject(value, path);
  const out: ImageRuntimeConfig = {};
  assign(out, 'User', optionalString(obj, 'User', path));
  assign(out, 'ExposedPorts', optionalEmptyObjectSet(obj, 'ExposedPorts', path));
  assign(out, 'Env', optionalStringArray(obj, 'Env', path));
  assign(out, 'Entrypoint', optionalStringArray(obj, 'Entrypoint', path));
  assign(out, 'Cmd', optionalStringArray(obj, 'Cmd', path));
  assign(out, 'Volumes', optionalEmptyObjectSet(obj, 'Volumes', path));
  assign(out, 'WorkingDir', optionalString(obj, 'WorkingDir', path));
  assign(out, 'Labels', optionalStringMap(obj, 'Labels', path));
  assign(out, 'StopSignal', optionalString(obj, 'StopSignal', path));
  assign(out, 'ArgsEscaped', optionalBoolean(obj, 'ArgsEscaped', path));
  return out;
}

function parseHistory(value: unknown, path: string): History {
  const obj = expectObject(value, path);
  const out: History = {};
  assign(out, 'created', optionalString(obj, 'created', path));
  assign(out, 'created_by', optionalString(obj, 'created_by', path));
  assign(out, 'author', optionalString(obj, 'author', path));
  assign(out, 'comment', optionalString(obj, 'comment', path));
  assign(out, 'empty_layer', optionalBoolean(obj, 'empty_layer', path));
  return out;
}
