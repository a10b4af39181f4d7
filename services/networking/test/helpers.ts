// Network test helpers live in @berth/testkit; uniqueName here keeps the
// compact no-separator form these suites' bridge and chain names rely on.
import { randomBytes } from 'node:crypto';
import { pickTestSubnet } from '@berth/testkit';

/** A short unique name (bridge names must stay within 15 bytes). */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}

/** Test subnets that clash with neither the host nor each other (pickTestSubnet checks only the host). */
export function distinctSubnets(): () => string {
  const used: string[] = [];
  return () => {
    let s = pickTestSubnet();
    while (used.includes(s)) s = pickTestSubnet();
    used.push(s);
    return s;
  };
}

export {
  freePort,
  iptablesLinesMentioning,
  iptablesSave,
  pickTestSubnet,
  purgeIptablesRules,
  requireBinary,
  startNetnsServer,
  tcpRead,
  inNetns,
} from '@berth/testkit';
