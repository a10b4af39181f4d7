import { describe, expect, it } from 'vitest';
import { parseGroup, parsePasswd, resolveUser } from '../src/spec/user.js';
import { GROUP, PASSWD } from './fakes.js';

const passwd = parsePasswd(PASSWD);
const groups = parseGroup(GROUP);

describe('resolveUser', () => {
  it('defaults to root with its home', () => {
    expect(resolveUser('', passwd, groups)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' });
  });

  it('resolves names, with the supplementary groups the user is listed in', () => {
    expect(resolveUser('app', passwd, groups)).toEqual({ uid: 1000, gid: 1000, additionalGids: [100], home: '/home/app' });
  });

  it('takes uids with or without a passwd entry', () => {
    expect(resolveUser('1000', passwd, groups)).toMatchObject({ uid: 1000, gid: 1000, home: '/home/app' });
    expect(resolveUser('4242', passwd, groups)).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: '/' });
  });

  it('resolves user:group with names or numbers, without supplementary groups', () => {
    expect(resolveUser('app:nogroup', passwd, groups)).toEqual({ uid: 1000, gid: 65534, additionalGids: [], home: '/home/app' });
    expect(resolveUser('1:2', passwd, groups)).toEqual({ uid: 1, gid: 2, additionalGids: [], home: '/' });
  });

  it('refuses unknown names and malformed specs with INVALID_ARGUMENT', () => {
    expect(() => resolveUser('ghost', passwd, groups)).toThrow(/unable to find user ghost/);
    expect(() => resolveUser('app:ghosts', passwd, groups)).toThrow(/unable to find group ghosts/);
    expect(() => resolveUser('app', undefined, undefined)).toThrow(/has none/);
    expect(() => resolveUser(':1', passwd, groups)).toThrow(/invalid user/);
    expect(() => resolveUser('a b', passwd, groups)).toThrow(expect.objectContaining({ code: 3 }));
  });

  it('skips malformed lines', () => {
    expect(parsePasswd('bad\nx:x:notanumber:0::/:\nok:x:5:6::/h:/bin/sh\n')).toEqual([{ name: 'ok', uid: 5, gid: 6, home: '/h' }]);
  });
});
