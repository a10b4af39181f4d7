// Users from /etc/passwd and /etc/group, with runc's rules.
import { describe, expect, test } from 'vitest';
import { SpecError, parseGroup, parsePasswd, parseUserSpec, resolveUser, withUser } from '../src/index.js';

const passwd = parsePasswd(
  'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nbroken line\n#comment\nbob:x:1001:100:::\nnobody:x:65534:65534::/nonexistent:/bin/false\n',
);
const groups = parseGroup('root:x:0:\nwheel:x:10:root\nusers:x:100:app,bob\napp:x:1000:\nstaff:x:50:app\nnogroup:x:65534:\n');

function specError(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).field).toBe('user');
    return err as SpecError;
  }
  throw new Error('expected a SpecError');
}

describe('parsing passwd and group', () => {
  test('entries, with malformed lines and comments skipped as libc does', () => {
    expect(passwd.map((p) => p.name)).toEqual(['root', 'app', 'bob', 'nobody']);
    expect(passwd.find((p) => p.name === 'bob')).toEqual({ name: 'bob', uid: 1001, gid: 100, home: '/' });
    expect(parsePasswd('bad\nx:x:notanumber:0::/:\nok:x:5:6::/h:/bin/sh\n')).toEqual([{ name: 'ok', uid: 5, gid: 6, home: '/h' }]);
    expect(groups.find((g) => g.name === 'users')).toEqual({ name: 'users', gid: 100, members: ['app', 'bob'] });
    expect(parseGroup('g:x:99999999999:\nok:x:7: a , b \n')).toEqual([{ name: 'ok', gid: 7, members: ['a', 'b'] }]);
  });
});

describe('resolveUser', () => {
  test('no user is uid 0, looked up with its home and groups', () => {
    expect(resolveUser('', passwd, groups)).toEqual({ uid: 0, gid: 0, additionalGids: [10], home: '/root' });
    expect(resolveUser('', undefined, undefined)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/' });
  });

  test('names resolve with the groups that list them as supplementary groups', () => {
    expect(resolveUser('app', passwd, groups)).toEqual({ uid: 1000, gid: 1000, additionalGids: [100, 50], home: '/home/app' });
    expect(resolveUser('bob', passwd, groups)).toEqual({ uid: 1001, gid: 100, additionalGids: [100], home: '/' });
  });

  test('uids resolve with or without a passwd entry', () => {
    expect(resolveUser('1000', passwd, groups)).toEqual({ uid: 1000, gid: 1000, additionalGids: [100, 50], home: '/home/app' });
    expect(resolveUser('4242', passwd, groups)).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: '/' });
    expect(resolveUser('0', undefined, undefined)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/' });
  });

  test('user:group with names or numbers sets the group and no supplementary groups', () => {
    expect(resolveUser('app:nogroup', passwd, groups)).toEqual({ uid: 1000, gid: 65534, additionalGids: [], home: '/home/app' });
    expect(resolveUser('app:50', passwd, groups)).toEqual({ uid: 1000, gid: 50, additionalGids: [], home: '/home/app' });
    expect(resolveUser('1:2', passwd, groups)).toEqual({ uid: 1, gid: 2, additionalGids: [], home: '/' });
    expect(resolveUser('4242:4343', undefined, undefined)).toEqual({ uid: 4242, gid: 4343, additionalGids: [], home: '/' });
    expect(resolveUser('4242:users', passwd, groups)).toEqual({ uid: 4242, gid: 100, additionalGids: [], home: '/' });
  });

  test('extra groups by name or number', () => {
    expect(resolveUser('bob', passwd, groups, { groupAdd: ['wheel', '77'] })).toEqual({ uid: 1001, gid: 100, additionalGids: [100, 10, 77], home: '/' });
    const err = (() => {
      try {
        resolveUser('bob', passwd, groups, { groupAdd: ['nope'] });
      } catch (e) {
        return e as SpecError;
      }
      return undefined;
    })();
    expect(err?.field).toBe('groupAdd');
    expect(err?.message).toContain('unable to find group nope');
  });

  test('unknown names are clear errors naming them, and say when there is no file at all', () => {
    expect(specError(() => resolveUser('ghost', passwd, groups)).message).toBe('user: unable to find user ghost: no matching entries in passwd file');
    expect(specError(() => resolveUser('app:ghosts', passwd, groups)).reason).toBe('unable to find group ghosts: no matching entries in group file');
    expect(specError(() => resolveUser('app', undefined, undefined)).reason).toBe('unable to find user app: there is no passwd file');
    expect(specError(() => resolveUser('app:staff', passwd, undefined)).reason).toBe('unable to find group staff: there is no group file');
    const field = (() => {
      try {
        resolveUser('ghost', passwd, groups, { field: 'exec user' });
      } catch (e) {
        return (e as SpecError).field;
      }
      return undefined;
    })();
    expect(field).toBe('exec user');
  });
});

describe('parseUserSpec', () => {
  test('splits user and group', () => {
    expect(parseUserSpec('')).toEqual({ user: '', group: undefined });
    expect(parseUserSpec('app')).toEqual({ user: 'app', group: undefined });
    expect(parseUserSpec('app:staff')).toEqual({ user: 'app', group: 'staff' });
    expect(parseUserSpec('1000:1000')).toEqual({ user: '1000', group: '1000' });
  });

  test.each(['a:b:c', 'app:', ':staff', 'a b', 'app\n', 'x\0y'])('refuses %j', (spec) => {
    expect(specError(() => parseUserSpec(spec)).message).toContain(`invalid user ${JSON.stringify(spec)}`);
  });

  test('refuses ids beyond 2^31-1', () => {
    expect(specError(() => parseUserSpec('99999999999')).message).toContain('user id 99999999999');
    expect(specError(() => resolveUser('1:99999999999', passwd, groups)).message).toContain('group id 99999999999');
  });
});

describe('withUser', () => {
  const process = { user: { uid: 0, gid: 0 }, args: ['sh'], env: ['PATH=/bin'], cwd: '/' };
  test('sets the ids and HOME unless the environment has it', () => {
    expect(withUser(process, { uid: 1000, gid: 1000, additionalGids: [100], home: '/home/app' })).toEqual({
      user: { uid: 1000, gid: 1000, additionalGids: [100] },
      args: ['sh'],
      env: ['PATH=/bin', 'HOME=/home/app'],
      cwd: '/',
    });
    expect(withUser({ ...process, env: ['HOME=/data'] }, { uid: 5, gid: 6, additionalGids: [], home: '/x' })).toMatchObject({
      user: { uid: 5, gid: 6 },
      env: ['HOME=/data'],
    });
    expect(process.env).toEqual(['PATH=/bin']);
  });
});
