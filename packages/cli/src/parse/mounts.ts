// `-v/--volume`, `--mount` and `--tmpfs` as Docker reads them, into the
// API's mount shape (type bind | volume | tmpfs, mount(8)-style options).
import { isAbsolute, resolve } from 'node:path';
import { UsageError } from '../output.js';
import { parseSize } from './size.js';

export interface MountSpec {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind), volume name (volume; "" for an anonymous volume), "" for tmpfs. */
  source: string;
  /** Absolute path inside the container. */
  target: string;
  options: string[];
}

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const PROPAGATION = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

function checkTarget(target: string, input: string): void {
  if (target === '') throw new UsageError(`invalid mount "${input}": no destination path in the container`);
  if (!isAbsolute(target)) {
    throw new UsageError(`invalid mount "${input}": destination "${target}" must be an absolute path`);
  }
  if (target === '/') throw new UsageError(`invalid mount "${input}": cannot mount over the container's root "/"`);
}

/** A host path ("/data", "./data", "../x", "~" is not expanded) or a volume name. */
function sourceKind(source: string, input: string, cwd: string): { type: 'bind' | 'volume'; source: string } {
  if (isAbsolute(source)) return { type: 'bind', source };
  if (source === '.' || source === '..' || source.startsWith('./') || source.startsWith('../')) {
    return { type: 'bind', source: resolve(cwd, source) };
  }
  if (!VOLUME_NAME.test(source)) {
    throw new UsageError(
      `invalid mount "${input}": "${source}" is neither an absolute host path nor a volume name ` +
        `(names use letters, digits, "_", "." and "-"; relative paths start with "./")`,
    );
  }
  return { type: 'volume', source };
}

/**
 * `-v [source:]target[:options]`: a host path makes a bind mount, a name a
 * named volume, no source an anonymous volume. Options: ro, rw, z, Z (accepted,
 * no SELinux here), nocopy and bind propagation (rprivate, shared, ...).
 */
export function parseVolume(input: string, cwd: string): MountSpec {
  const parts = input.split(':');
  if (parts.length > 3 || parts.includes('')) {
    throw new UsageError(`invalid volume "${input}": expected [source:]target[:options]`);
  }
  let source = '';
  let target: string;
  let opts = '';
  if (parts.length === 1) target = parts[0]!;
  else if (parts.length === 2) {
    // "/target:ro" is a target with options, "src:/target" a mapping
    if (isAbsolute(parts[0]!) && !isAbsolute(parts[1]!)) [target, opts] = [parts[0]!, parts[1]!];
    else [source, target] = [parts[0]!, parts[1]!];
  } else [source, target, opts] = [parts[0]!, parts[1]!, parts[2]!];
  checkTarget(target, input);
  const kind = source === '' ? { type: 'volume' as const, source: '' } : sourceKind(source, input, cwd);
  const options: string[] = kind.type === 'bind' ? ['rbind'] : [];
  let access: 'ro' | 'rw' | undefined;
  for (const opt of opts === '' ? [] : opts.split(',')) {
    if (opt === 'ro' || opt === 'rw') {
      if (access && access !== opt) throw new UsageError(`invalid volume "${input}": both ro and rw given`);
      access = opt;
    } else if (opt === 'z' || opt === 'Z') {
      // SELinux relabelling: nothing to do without SELinux
    } else if (opt === 'nocopy') {
      if (kind.type !== 'volume') throw new UsageError(`invalid volume "${input}": nocopy applies to volumes only`);
      options.push('nocopy');
    } else if (PROPAGATION.has(opt)) {
      if (kind.type !== 'bind') throw new UsageError(`invalid volume "${input}": ${opt} applies to bind mounts only`);
      options.push(opt);
    } else {
      throw new UsageError(`invalid volume "${input}": unknown option "${opt}" (use ro, rw, z, Z, nocopy or a bind propagation)`);
    }
  }
  options.push(access ?? 'rw');
  return { type: kind.type, source: kind.source, target, options };
}

function boolValue(value: string | undefined, key: string, input: string): boolean {
  if (value === undefined || value === '' || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new UsageError(`invalid mount "${input}": ${key}=${value} is not true or false`);
}

/**
 * `--mount type=bind|volume|tmpfs,source=...,target=...[,readonly][,bind-propagation=...]
 * [,volume-nocopy][,tmpfs-size=64m][,tmpfs-mode=1777]`.
 */
export function parseMountFlag(input: string, cwd: string): MountSpec {
  const fields = new Map<string, string | undefined>();
  for (const field of input.split(',')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    if (fields.has(key)) throw new UsageError(`invalid mount "${input}": ${key} given twice`);
    fields.set(key, eq < 0 ? undefined : field.slice(eq + 1));
  }
  const type = fields.get('type') ?? 'volume';
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') {
    throw new UsageError(`invalid mount "${input}": type "${type}" is not bind, volume or tmpfs`);
  }
  const pick = (...keys: string[]) => keys.map((k) => fields.get(k)).find((v) => v !== undefined);
  const target = pick('target', 'destination', 'dst') ?? '';
  checkTarget(target, input);
  let source = pick('source', 'src') ?? '';
  const options: string[] = [];
  let readonly = false;
  for (const [key, value] of fields) {
    switch (key) {
      case 'type':
      case 'target':
      case 'destination':
      case 'dst':
      case 'source':
      case 'src':
        break;
      case 'readonly':
      case 'ro':
        readonly = boolValue(value, key, input);
        break;
      case 'bind-propagation':
        if (type !== 'bind') throw new UsageError(`invalid mount "${input}": bind-propagation applies to type=bind only`);
        if (!value || !PROPAGATION.has(value)) {
          throw new UsageError(`invalid mount "${input}": bind-propagation must be one of ${[...PROPAGATION].join(', ')}`);
        }
        options.push(value);
        break;
      case 'volume-nocopy':
        if (type !== 'volume') throw new UsageError(`invalid mount "${input}": volume-nocopy applies to type=volume only`);
        if (boolValue(value, key, input)) options.push('nocopy');
        break;
      case 'tmpfs-size':
        if (type !== 'tmpfs') throw new UsageError(`invalid mount "${input}": tmpfs-size applies to type=tmpfs only`);
        options.push(`size=${parseSize(value ?? '')}`);
        break;
      case 'tmpfs-mode':
        if (type !== 'tmpfs') throw new UsageError(`invalid mount "${input}": tmpfs-mode applies to type=tmpfs only`);
        if (!value || !/^[0-7]{1,4}$/.test(value)) throw new UsageError(`invalid mount "${input}": tmpfs-mode must be octal, e.g. 1777`);
        options.push(`mode=${value}`);
        break;
      default:
        throw new UsageError(`invalid mount "${input}": unknown field "${key}"`);
    }
  }
  if (type === 'bind') {
    if (source === '') throw new UsageError(`invalid mount "${input}": type=bind needs a source path`);
    if (!isAbsolute(source)) source = resolve(cwd, source);
    options.unshift('rbind');
  } else if (type === 'volume') {
    if (source !== '' && !VOLUME_NAME.test(source)) {
      throw new UsageError(`invalid mount "${input}": "${source}" is not a valid volume name`);
    }
  } else {
    if (source !== '') throw new UsageError(`invalid mount "${input}": type=tmpfs takes no source`);
    options.unshift('nosuid', 'nodev');
  }
  options.push(readonly ? 'ro' : 'rw');
  return { type, source, target, options };
}

/** `--tmpfs /run[:options]`: a tmpfs with mount(8) options such as size=64m,mode=1777. */
export function parseTmpfs(input: string): MountSpec {
  const colon = input.indexOf(':');
  const target = colon < 0 ? input : input.slice(0, colon);
  checkTarget(target, input);
  const extra = colon < 0 ? [] : input.slice(colon + 1).split(',').filter((o) => o !== '');
  return { type: 'tmpfs', source: '', target, options: ['nosuid', 'nodev', ...extra] };
}
