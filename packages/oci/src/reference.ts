// Image references ("busybox", "localhost:5000/a/b:tag", "name@sha256:…")
// parsed by the grammar of github.com/distribution/reference and normalised
// the way Docker does: Docker Hub is the default registry, "library/" the
// default namespace there, and "latest" the default tag.
import { parseDigest, type Digest } from './digest.js';
import { InvalidDigestError, InvalidReferenceError } from './errors.js';

export const DOCKER_HUB_DOMAIN = 'docker.io';
/** Where Docker Hub's registry API actually lives. */
export const DOCKER_HUB_REGISTRY_HOST = 'registry-1.docker.io';
const LEGACY_DOCKER_HUB_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
/** Longest repository name (domain/path) accepted, as in distribution/reference. */
export const MAX_NAME_LENGTH = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::([0-9]+))?$`,
);
const TAG = /^[\w][\w.-]{0,127}$/;
const IMAGE_ID = /^[a-f0-9]{64}$/;

/** Only this module may construct references, so every ImageReference has been validated. */
const CONSTRUCT = Symbol('ImageReference.construct');

/**
 * A parsed, normalised image reference. Immutable. Obtain one from
 * parseReference; derive others with withTag/withDigest/withDefaultTag.
 */
export class ImageReference {
  /** Registry host, with port if any: "docker.io", "localhost:5000", "[::1]:5000". */
  readonly domain: string;
  /** Repository path inside the registry: "library/busybox", "a/b". */
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: Digest | undefined;

  /** @internal use parseReference. */
  constructor(
    token: typeof CONSTRUCT,
    fields: { domain: string; path: string; tag?: string | undefined; digest?: Digest | undefined },
  ) {
    if (token !== CONSTRUCT) throw new TypeError('ImageReference cannot be constructed directly; use parseReference()');
    this.domain = fields.domain;
    this.path = fields.path;
    this.tag = fields.tag;
    this.digest = fields.digest;
    Object.freeze(this);
  }

  /** The full repository name, domain/path: "docker.io/library/busybox". */
  get name(): string {
    return `${this.domain}/${this.path}`;
  }

  /** The short name Docker shows: "busybox", "user/img", "localhost:5000/a/b". */
  get familiarName(): string {
    return familiarName(this);
  }

  /** Canonical form: name[:tag][@digest]. */
  string(): string {
    return `${this.name}${this.tag !== undefined ? `:${this.tag}` : ''}${this.digest !== undefined ? `@${this.digest}` : ''}`;
  }

  toString(): string {
    return this.string();
  }

  toJSON(): string {
    return this.string();
  }
}

export interface ParseReferenceOptions {
  /** Add the "latest" tag when the reference has neither tag nor digest (default true, as Docker does). */
  defaultTag?: boolean;
}

/**
 * Parses an image reference with Docker's normalisation:
 * "busybox" -> docker.io/library/busybox:latest, "user/img" -> docker.io/user/img:latest,
 * "localhost:5000/a/b:tag" stays, "name:tag@sha256:…" keeps both tag and digest.
 * Throws InvalidReferenceError saying which part is wrong.
 */
export function parseReference(input: string, options: ParseReferenceOptions = {}): ImageReference {
  if (typeof input !== 'string') throw new InvalidReferenceError(String(input), `expected a string, got ${typeof input}`);
  if (input === '') throw new InvalidReferenceError(input, 'empty reference');
  if (IMAGE_ID.test(input)) {
    throw new InvalidReferenceError(
      input,
      'a 64-character hexadecimal string is an image ID, not a repository name (use name@sha256:<hex>)',
    );
  }

  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const digestPart = rest.slice(at + 1);
    if (digestPart === '') throw new InvalidReferenceError(input, 'empty digest after "@"');
    try {
      digest = parseDigest(digestPart).digest;
    } catch (err) {
      if (err instanceof InvalidDigestError) {
        throw new InvalidReferenceError(input, `invalid digest ${JSON.stringify(digestPart)}: ${err.reason}`);
      }
      throw err;
    }
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    checkTag(input, tag);
  }

  if (rest === '') throw new InvalidReferenceError(input, 'missing repository name');
  const { domain, path } = splitDomain(rest);
  checkDomain(input, domain);
  checkPath(input, path);
  const name = `${domain}/${path}`;
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidReferenceError(
      input,
      `repository name "${name.slice(0, 40)}…" is ${name.length} characters, over the limit of ${MAX_NAME_LENGTH}`,
    );
  }

  const ref = new ImageReference(CONSTRUCT, { domain, path, tag, digest });
  return options.defaultTag === false ? ref : withDefaultTag(ref);
}

/**
 * Docker's rule for whether the first path element is a registry: it is
 * "localhost", contains "." or ":", or has uppercase letters (Hub namespaces
 * cannot). Otherwise the name lives on Docker Hub, under "library/" if it
 * has a single element.
 */
function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  let domain = DOCKER_HUB_DOMAIN;
  let path = name;
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (
      first === 'localhost' ||
      first === LEGACY_DOCKER_HUB_DOMAIN ||
      /[.:]/.test(first) ||
      first.toLowerCase() !== first
    ) {
      domain = first === LEGACY_DOCKER_HUB_DOMAIN ? DOCKER_HUB_DOMAIN : first;
      path = name.slice(slash + 1);
    }
  }
  if (domain === DOCKER_HUB_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path };
}

function checkTag(input: string, tag: string): void {
  if (tag === '') throw new InvalidReferenceError(input, 'empty tag after ":"');
  if (tag.length > 128) {
    throw new InvalidReferenceError(input, `tag is ${tag.length} characters, over the limit of 128`);
  }
  if (!TAG.test(tag)) {
    throw new InvalidReferenceError(
      input,
      `invalid tag ${JSON.stringify(tag)}: must start with a letter, digit or "_" and contain only letters, digits, "_", "." and "-"`,
    );
  }
}

function checkDomain(input: string, domain: string): void {
  const match = DOMAIN.exec(domain);
  if (!match) throw new InvalidReferenceError(input, `invalid registry host ${JSON.stringify(domain)}`);
  const port = match[1];
  if (port !== undefined && (port.length > 5 || Number(port) > 65535)) {
    throw new InvalidReferenceError(input, `invalid port ${port} in registry host ${JSON.stringify(domain)}`);
  }
}

function checkPath(input: string, path: string): void {
  if (path.toLowerCase() !== path) {
    throw new InvalidReferenceError(input, `repository name ${JSON.stringify(path)} must be lowercase`);
  }
  path.split('/').forEach((component, i) => {
    if (component === '') {
      throw new InvalidReferenceError(input, `empty path component at position ${i + 1} of ${JSON.stringify(path)}`);
    }
    const bad = /[^a-z0-9._-]/.exec(component);
    if (bad) {
      throw new InvalidReferenceError(
        input,
        `invalid character ${JSON.stringify(bad[0])} in path component ${JSON.stringify(component)}`,
      );
    }
    if (!PATH_COMPONENT.test(component)) {
      throw new InvalidReferenceError(
        input,
        `invalid path component ${JSON.stringify(component)}: only lowercase letters and digits, separated by ".", "_", "__" or "-"`,
      );
    }
  });
}

/** The short repository name Docker shows: docker.io/library/busybox -> busybox, docker.io/user/img -> user/img. */
export function familiarName(ref: ImageReference | string): string {
  const r = typeof ref === 'string' ? parseReference(ref, { defaultTag: false }) : ref;
  if (r.domain !== DOCKER_HUB_DOMAIN) return r.name;
  const rest = r.path.startsWith(OFFICIAL_REPO_PREFIX) ? r.path.slice(OFFICIAL_REPO_PREFIX.length) : r.path;
  return rest.includes('/') ? r.path : rest;
}

/** familiarName plus tag and digest: "busybox:latest", "localhost:5000/a@sha256:…". */
export function familiarString(ref: ImageReference | string): string {
  const r = typeof ref === 'string' ? parseReference(ref, { defaultTag: false }) : ref;
  return `${familiarName(r)}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** Adds the "latest" tag when the reference has neither tag nor digest. */
export function withDefaultTag(ref: ImageReference): ImageReference {
  if (ref.tag !== undefined || ref.digest !== undefined) return ref;
  return new ImageReference(CONSTRUCT, { domain: ref.domain, path: ref.path, tag: DEFAULT_TAG });
}

/** The same repository with `tag` (validated); any digest is kept. */
export function withTag(ref: ImageReference, tag: string): ImageReference {
  checkTag(`${ref.name}:${tag}`, tag);
  return new ImageReference(CONSTRUCT, { domain: ref.domain, path: ref.path, tag, digest: ref.digest });
}

/** The same repository pinned to `digest` (validated); any tag is kept. */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  let parsed: Digest;
  try {
    parsed = parseDigest(digest).digest;
  } catch (err) {
    if (err instanceof InvalidDigestError) {
      throw new InvalidReferenceError(`${ref.name}@${digest}`, `invalid digest ${JSON.stringify(digest)}: ${err.reason}`);
    }
    throw err;
  }
  return new ImageReference(CONSTRUCT, { domain: ref.domain, path: ref.path, tag: ref.tag, digest: parsed });
}

/** The host to talk to for a reference's domain (Docker Hub's API is not served at docker.io). */
export function registryHost(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_REGISTRY_HOST : domain;
}

/**
 * True for registries on this machine (localhost, 127.0.0.0/8, ::1), with or
 * without a port; berth talks plain HTTP to these by default.
 */
export function isLocalhostRegistry(domain: string): boolean {
  const host = stripPort(domain).toLowerCase();
  if (host === 'localhost') return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (octets) return octets.slice(1).every((o) => Number(o) <= 255);
  if (host.includes(':')) {
    try {
      return new URL(`http://[${host}]/`).hostname === '[::1]';
    } catch {
      return false;
    }
  }
  return false;
}

/** Host part of "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address. */
function stripPort(domain: string): string {
  if (domain.startsWith('[')) {
    const close = domain.indexOf(']');
    return close > 0 ? domain.slice(1, close) : domain;
  }
  const colons = domain.split(':').length - 1;
  if (colons === 1) return domain.slice(0, domain.indexOf(':'));
  return domain;
}
