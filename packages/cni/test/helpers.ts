// Network test helpers live in @berth/testkit; uniqueName here keeps the
// compact no-separator form these suites' bridge and chain names rely on.
import { randomBytes } from 'node:crypto';

/** A short unique name (bridge names must stay within 15 bytes). */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
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
} from '@berth/testkit';
