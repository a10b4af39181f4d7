// Docker-style user specs ("", "name", "uid", "name:group", "uid:gid",
// "uid:group", "name:gid") resolved against an image's /etc/passwd and
// /etc/group, with runc's rules (libcontainer/user GetExecUser):
//   - no user means uid 0, looked up like "0";
//   - a name must exist in passwd; a number is a uid and need not (gid 0, home "/");
//   - a group name must exist in group; a number is a gid and need not;
//   - without an explicit group, a user found in passwd gets the groups that
//     list its name as supplementary groups.
// Pure: the caller reads the files (from wherever the rootfs is).
import { hasEnv } from './env.js';
import { SpecError } from './errors.js';
import type { OciProcess, OciUser } from './types.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Home directory from passwd; "/" when the user has no entry. */
  home: string;
}

/** A user spec split into its parts; numbers are still strings here. */
export interface UserSpec {
  /** "" for the default user (uid 0). */
  user: string;
  group: string | undefined;
}

export const MAX_ID = 2 ** 31 - 1;

function parseId(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

/** Entries of an /etc/passwd file; malformed lines are skipped, as libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const uid = parseId(f[2]);
    const gid = parseId(f[3]);
    if (!f[0] || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] || '/' });
  }
  return out;
}

/** Entries of an /etc/group file; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const gid = parseId(f[2]);
    if (!f[0] || gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

/**
 * The parts of a user spec; SpecError (on `field`) when it is malformed:
 * more than one ":", an empty part around the ":", white space or control
 * characters, or an id beyond 2^31-1. Names are not looked up here.
 */
export function parseUserSpec(spec: string, field = 'user'): UserSpec {
  const bad = (why: string) =>
    new SpecError(field, `invalid user ${JSON.stringify(spec)}: ${why}; expected "user", "uid", "user:group" or "uid:gid"`);
  if (typeof spec !== 'string') throw new SpecError(field, 'the user must be a string');
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(spec)) throw bad('it contains white space or control characters');
  const parts = spec.split(':');
  if (parts.length > 2) throw bad('more than one ":"');
  const [user = '', group] = parts;
  if (group !== undefined && (user === '' || group === '')) throw bad('a part around ":" is empty');
  for (const [kind, part] of [['user', user], ['group', group]] as const) {
    if (part !== undefined && /^\d+$/.test(part) && parseId(part) === undefined) {
      throw new SpecError(field, `${kind} id ${part} of ${JSON.stringify(spec)} is out of range (0..${MAX_ID})`);
    }
  }
  return { user, group };
}

/** The gid of a group given by name or number; SpecError for an unknown name. */
function findGroup(name: string, groups: GroupEntry[] | undefined, field: string): number {
  const numeric = parseId(name);
  const entry = numeric !== undefined ? groups?.find((g) => g.gid === numeric) : groups?.find((g) => g.name === name);
  if (entry) return entry.gid;
  if (numeric !== undefined) return numeric;
  throw new SpecError(
    field,
    `unable to find group ${name}: ${groups === undefined ? 'there is no group file' : 'no matching entries in group file'}`,
  );
}

export interface ResolveUserOptions {
  /** Extra groups (names or gids), as `docker run --group-add`. */
  groupAdd?: readonly string[];
  /** The option named in errors; default "user". */
  field?: string;
}

/**
 * The uid, gid, supplementary gids and home of `spec` given the parsed
 * passwd and group files (undefined when the image has no such file).
 * Unknown names are SpecErrors naming them.
 */
export function resolveUser(
  spec: string,
  passwd: PasswdEntry[] | undefined,
  groups: GroupEntry[] | undefined,
  opts: ResolveUserOptions = {},
): ResolvedUser {
  const field = opts.field ?? 'user';
  const parsed = parseUserSpec(spec, field);
  const uidArg = parsed.user === '' ? 0 : parseId(parsed.user);
  const entry = uidArg !== undefined ? passwd?.find((p) => p.uid === uidArg) : passwd?.find((p) => p.name === parsed.user);
  let uid: number;
  let gid = 0;
  let home = '/';
  if (entry) {
    ({ uid, gid, home } = entry);
  } else if (uidArg !== undefined) {
    uid = uidArg;
  } else {
    throw new SpecError(
      field,
      `unable to find user ${parsed.user}: ${passwd === undefined ? 'there is no passwd file' : 'no matching entries in passwd file'}`,
    );
  }

  const additional: number[] = [];
  if (parsed.group !== undefined) gid = findGroup(parsed.group, groups, field);
  else if (entry) {
    for (const g of groups ?? []) if (g.members.includes(entry.name)) additional.push(g.gid);
  }
  for (const extra of opts.groupAdd ?? []) additional.push(findGroup(extra, groups, 'groupAdd'));
  return { uid, gid, additionalGids: [...new Set(additional)], home };
}

/** The OCI user of a resolved user. */
export function ociUser(user: ResolvedUser): OciUser {
  return {
    uid: user.uid,
    gid: user.gid,
    ...(user.additionalGids.length > 0 ? { additionalGids: [...user.additionalGids] } : {}),
  };
}

/** `process` running as `user`, with HOME set to the user's home unless the environment sets it. */
export function withUser(process: OciProcess, user: ResolvedUser): OciProcess {
  const env = process.env ?? [];
  return {
    ...process,
    user: ociUser(user),
    env: hasEnv(env, 'HOME') ? [...env] : [...env, `HOME=${user.home || '/'}`],
  };
}
