import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { purgeIptablesRules, uniqueName } from '../src/index.js';

describe('purgeIptablesRules', () => {
  const chain = uniqueName('BT').toUpperCase().slice(0, 20);
  const needle = `${chain.toLowerCase()}-id`;
  afterAll(() => {
    execFileSync('iptables', ['-w', '-t', 'filter', '-F', chain], { stdio: 'ignore' });
    execFileSync('iptables', ['-w', '-t', 'filter', '-X', chain], { stdio: 'ignore' });
  });

  it('removes rules whose comments hold escaped quotes, as CNI writes them', () => {
    execFileSync('iptables', ['-w', '-t', 'filter', '-N', chain]);
    execFileSync('iptables', ['-w', '-t', 'filter', '-A', chain, '-m', 'comment', '--comment', `name: "net" id: "${needle}"`, '-j', 'RETURN']);
    execFileSync('iptables', ['-w', '-t', 'filter', '-A', chain, '-m', 'comment', '--comment', 'kept', '-j', 'RETURN']);
    purgeIptablesRules(needle);
    const left = execFileSync('iptables-save', ['-t', 'filter']).toString().split('\n').filter((l) => l.startsWith(`-A ${chain} `));
    expect(left).toEqual([`-A ${chain} -m comment --comment kept -j RETURN`]);
  });
});
