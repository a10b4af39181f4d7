// Resolving a Docker-style user spec ("", "name", "uid", "name:group",
// "uid:gid", "uid:group") against the image's /etc/passwd and /etc/group,
// with runc's (libcontainer/user) rules:
//   - a name must exist in passwd; a numeric uid need not (gid then 0, home /);
//   - a group name must exist in group; a numeric gid need not;
//   - without an explicit group, a user found by name gets the groups that
//     list it as a member as supplementary groups.
import { SpecError } from './errors.js';
import { readFileInRoot } from './rootfs-path.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** From passwd, "/" when unknown; used for HOME. */
  home: string;
}

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

const MAX_ID = 2 ** 31 - 1;

function parseId(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

/** Parses /etc/passwd; malformed lines are skipped, as libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(':');
    const uid = parseId(f[2]);
    const gid = parseId(f[3]);
    if (!f[0] || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] || '/' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(':');
    const gid = parseId(f[2]);
    if (!f[0] || gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

function checkId(value: string, kind: 'user' | 'group', field: string): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  const n = parseId(value);
  if (n === undefined) throw new SpecError(field, `${kind} id ${value} is out of range (0..${MAX_ID})`);
  return n;
}

/**
 * Resolves `spec` given the parsed files (undefined when the image has no such file).
 * `groupAdd` are extra groups (names or gids), as `docker run --group-add`.
 */
export function resolveUserSpec(
  spec: string,
  passwd: PasswdEntry[] | undefined,
  group: GroupEntry[] | undefined,
  groupAdd: readonly string[] = [],
  field = 'user',
): ResolvedUser {
  const s = spec.trim();
  if (s.includes(' ') || s.split(':').length > 2) throw new SpecError(field, `invalid user spec ${JSON.stringify(spec)}`);
  const [userPart = '', groupPart] = s.split(':');
  if (groupPart !== undefined && groupPart === '') throw new SpecError(field, `invalid user spec ${JSON.stringify(spec)}: empty group`);

  let uid = 0;
  let gid = 0;
  let home = '/';
  let matchedName: string | undefined;
  const numericUid = userPart === '' ? 0 : checkId(userPart, 'user', field);
  const entry =
    numericUid !== undefined
      ? passwd?.find((p) => p.uid === numericUid)
      : passwd?.find((p) => p.name === userPart);
  if (entry) {
    uid = entry.uid;
    gid = entry.gid;
    home = entry.home;
    matchedName = entry.name;
  } else if (numericUid !== undefined) {
    uid = numericUid;
  } else {
    throw new SpecError(field, `unable to find user ${userPart}: no matching entries in passwd file`);
  }

  const additional: number[] = [];
  if (groupPart !== undefined) {
    const numericGid = checkId(groupPart, 'group', field);
    if (numericGid !== undefined) gid = numericGid;
    else {
      const g = group?.find((e) => e.name === groupPart);
      if (!g) throw new SpecError(field, `unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  } else if (matchedName !== undefined) {
    // Found in passwd (by name or uid): its name is matched against group members.
    for (const g of group ?? []) if (g.members.includes(matchedName)) additional.push(g.gid);
  }

  for (const extra of groupAdd) {
    const numeric = checkId(extra, 'group', 'groupAdd');
    if (numeric !== undefined) additional.push(numeric);
    else {
      const g = group?.find((e) => e.name === extra);
      if (!g) throw new SpecError('groupAdd', `unable to find group ${extra}: no matching entries in group file`);
      additional.push(g.gid);
    }
  }
  return { uid, gid, additionalGids: [...new Set(additional)], home };
}

/**
 * Resolves `spec` against <rootfs>/etc/passwd and <rootfs>/etc/group, read
 * without following symlinks out of the rootfs.
 */
export async function resolveUser(rootfs: string, spec: string, groupAdd: readonly string[] = []): Promise<ResolvedUser> {
  const [passwdText, groupText] = await Promise.all([
    readFileInRoot(rootfs, '/etc/passwd'),
    readFileInRoot(rootfs, '/etc/group'),
  ]);
  return resolveUserSpec(
    spec,
    passwdText === undefined ? undefined : parsePasswd(passwdText),
    groupText === undefined ? undefined : parseGroup(groupText),
    groupAdd,
  );
}
