// Validation of descriptors (and the platform objects they may carry).
import { digestOf, parseDigest, type Digest } from './digest.js';
import { InvalidDigestError } from './errors.js';
import {
  describe,
  expectObject,
  fail,
  fieldPath,
  optionalString,
  optionalStringArray,
  optionalStringMap,
  requiredSize,
  requiredString,
  type JsonObject,
} from './fields.js';
import type { Descriptor, Platform } from './types.js';

/** RFC 6838 type/subtype, as the image spec's JSON schema checks it. */
const MEDIA_TYPE_GRAMMAR = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const BASE64_GRAMMAR = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function requiredMediaType(obj: JsonObject, key: string, path: string): string {
  const value = requiredString(obj, key, path);
  checkMediaTypeGrammar(value, fieldPath(path, key));
  return value;
}

export function optionalMediaType(obj: JsonObject, key: string, path: string): string | undefined {
  const value = optionalString(obj, key, path);
  if (value !== undefined) checkMediaTypeGrammar(value, fieldPath(path, key));
  return value;
}

function checkMediaTypeGrammar(value: string, path: string): void {
  if (!MEDIA_TYPE_GRAMMAR.test(value)) fail(path, `malformed media type ${JSON.stringify(value)}`);
}

/** Reads a digest field; the message carries the digest parser's reason. */
export function requiredDigest(obj: JsonObject, key: string, path: string): Digest {
  const p = fieldPath(path, key);
  const value = obj[key];
  if (value === undefined) fail(p, 'missing required field');
  if (typeof value !== 'string') fail(p, `expected a digest string, got ${describe(value)}`);
  return digestAt(value, p);
}

export function digestAt(value: string, path: string): Digest {
  try {
    return parseDigest(value).digest;
  } catch (err) {
    if (err instanceof InvalidDigestError) {
      fail(path, `invalid digest ${JSON.stringify(value)}: ${err.reason}`, err);
    }
    throw err;
  }
}

/** Validates a platform object (architecture and os required). */
export function parsePlatformObject(value: unknown, path = 'platform'): Platform {
  const obj = expectObject(value, path);
  const platform: Platform = {
    architecture: requiredString(obj, 'architecture', path),
    os: requiredString(obj, 'os', path),
  };
  const osVersion = optionalString(obj, 'os.version', path);
  const osFeatures = optionalStringArray(obj, 'os.features', path);
  const variant = optionalString(obj, 'variant', path);
  const features = optionalStringArray(obj, 'features', path);
  if (osVersion !== undefined) platform['os.version'] = osVersion;
  if (osFeatures !== undefined) platform['os.features'] = osFeatures;
  if (variant !== undefined && variant !== '') platform.variant = variant;
  if (features !== undefined) platform.features = features;
  return platform;
}

/**
 * Validates a descriptor: media type grammar, a supported digest, a
 * non-negative size, well-formed urls/annotations/platform, and embedded
 * `data` that matches both digest and size.
 */
export function parseDescriptor(value: unknown, path = 'descriptor'): Descriptor {
  const obj = expectObject(value, path);
  const descriptor: Descriptor = {
    mediaType: requiredMediaType(obj, 'mediaType', path),
    digest: requiredDigest(obj, 'digest', path),
    size: requiredSize(obj, 'size', path),
  };
  const urls = optionalStringArray(obj, 'urls', path);
  if (urls !== undefined) {
    urls.forEach((url, i) => {
      if (!URL.canParse(url)) fail(`${fieldPath(path, 'urls')}[${i}]`, `not a valid URL: ${JSON.stringify(url)}`);
    });
    descriptor.urls = urls;
  }
  const annotations = optionalStringMap(obj, 'annotations', path);
  if (annotations !== undefined) descriptor.annotations = annotations;
  const data = optionalString(obj, 'data', path);
  if (data !== undefined) {
    checkEmbeddedData(data, descriptor, fieldPath(path, 'data'));
    descriptor.data = data;
  }
  if (obj.platform !== undefined && obj.platform !== null) {
    descriptor.platform = parsePlatformObject(obj.platform, fieldPath(path, 'platform'));
  }
  const artifactType = optionalMediaType(obj, 'artifactType', path);
  if (artifactType !== undefined) descriptor.artifactType = artifactType;
  return descriptor;
}

function checkEmbeddedData(data: string, descriptor: Descriptor, path: string): void {
  if (!BASE64_GRAMMAR.test(data)) fail(path, 'not valid base64');
  const bytes = Buffer.from(data, 'base64');
  if (bytes.byteLength !== descriptor.size) {
    fail(path, `decodes to ${bytes.byteLength} bytes but the descriptor's size is ${descriptor.size}`);
  }
  const algorithm = parseDigest(descriptor.digest).algorithm;
  const actual = digestOf(bytes, algorithm);
  if (actual !== descriptor.digest) {
    fail(path, `content digest ${actual} does not match the descriptor's digest ${descriptor.digest}`);
  }
}
