// Resolution of a user spec ("uid", "name", "uid:gid", "name:group") against
// the image's /etc/passwd and /etc/group, as runc's GetExecUser does.
import { invalidArgument } from '../errors.js';

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

const MAX_ID = 2 ** 31 - 1;

function parseId(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

/** Entries of an /etc/passwd file; malformed lines are skipped as libc does. */
export function parsePasswd(content: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of content.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [name, , uid, gid, , home] = line.split(':');
    const u = parseId(uid ?? '');
    const g = parseId(gid ?? '');
    if (!name || u === undefined || g === undefined) continue;
    entries.push({ name, uid: u, gid: g, home: home || '/' });
  }
  return entries;
}

/** Entries of an /etc/group file; malformed lines are skipped. */
export function parseGroup(content: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of content.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [name, , gid, members] = line.split(':');
    const g = parseId(gid ?? '');
    if (!name || g === undefined) continue;
    entries.push({ name, gid: g, members: (members ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return entries;
}

/**
 * The uid, gid, supplementary gids and home of `spec` in an image whose
 * passwd/group files are given (undefined when the image has none). Names
 * that are not found are INVALID_ARGUMENT; numeric ids need no entry.
 */
export function resolveUser(spec: string, passwd: PasswdEntry[] | undefined, groups: GroupEntry[] | undefined): ResolvedUser {
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : spec.slice(colon + 1);
  if (colon >= 0 && (userPart === '' || groupPart === '')) {
    throw invalidArgument(`invalid user ${JSON.stringify(spec)}: expected "user", "uid", "user:group" or "uid:gid"`);
  }

  const userName = userPart === '' ? 'root' : userPart;
  const numericUid = parseId(userName);
  if (numericUid === undefined && !/^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(userName)) {
    throw invalidArgument(`invalid user ${JSON.stringify(spec)}: ${JSON.stringify(userName)} is neither a number nor a user name`);
  }
  const entry = passwd?.find((p) => p.name === userName || (numericUid !== undefined && p.uid === numericUid));
  let uid: number;
  let gid: number;
  let home = '/';
  if (entry) {
    uid = entry.uid;
    gid = entry.gid;
    home = entry.home;
  } else if (numericUid !== undefined) {
    uid = numericUid;
    gid = 0;
  } else if (userPart === '') {
    uid = 0;
    gid = 0;
  } else {
    throw invalidArgument(
      `unable to find user ${userName}: no matching entries in the image's /etc/passwd${passwd === undefined ? ' (the image has none)' : ''}`,
    );
  }

  let additionalGids: number[] = [];
  if (groupPart !== undefined) {
    const numericGid = parseId(groupPart);
    const group = groups?.find((g) => g.name === groupPart || (numericGid !== undefined && g.gid === numericGid));
    if (group) gid = group.gid;
    else if (numericGid !== undefined) gid = numericGid;
    else {
      throw invalidArgument(
        `unable to find group ${groupPart}: no matching entries in the image's /etc/group${groups === undefined ? ' (the image has none)' : ''}`,
      );
    }
  } else if (entry && groups) {
    additionalGids = [...new Set(groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid))];
  }
  return { uid, gid, additionalGids, home };
}
