// IPv4 and IPv6 addresses and prefixes as bigints, so containment, overlap
// and allocation are exact integer arithmetic for both families.

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

export interface Cidr {
  family: IpFamily;
  /** The network address (host bits zero). */
  network: bigint;
  prefix: number;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

function parseIpv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIpv6(s: string): bigint | undefined {
  let text = s;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes its two hex groups.
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const out: bigint[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(BigInt(`0x${g}`));
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const rest = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const total = head.length + rest.length;
  let groups: bigint[];
  if (halves.length === 2) {
    if (total > 7) return undefined;
    groups = [...head, ...Array<bigint>(8 - total).fill(0n), ...rest];
  } else {
    if (total !== 8) return undefined;
    groups = head;
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses a dotted IPv4 or an IPv6 address (no zone, no prefix). */
export function parseIp(s: string): IpAddress {
  if (typeof s !== 'string') throw new Error(`invalid IP address ${JSON.stringify(s)}`);
  const v4 = s.includes(':') ? undefined : parseIpv4(s);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = s.includes(':') ? parseIpv6(s) : undefined;
  if (v6 !== undefined) return { family: 6, value: v6 };
  throw new Error(`invalid IP address ${JSON.stringify(s)}`);
}

export function isIp(s: string): boolean {
  try {
    parseIp(s);
    return true;
  } catch {
    return false;
  }
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run as ::). */
export function formatIp(a: IpAddress): string {
  if (a.family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((a.value >> s) & 0xffn).toString()).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((a.value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function mask(family: IpFamily, prefix: number): bigint {
  const bits = BITS[family];
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
}

/**
 * Parses "addr/prefix". A bare address is a host prefix (/32, /128) when
 * `allowBare` is set. With `strict`, host bits must be zero, and the error
 * says which network was meant.
 */
export function parseCidr(s: string, opts: { strict?: boolean; allowBare?: boolean } = {}): Cidr {
  if (typeof s !== 'string') throw new Error(`invalid CIDR ${JSON.stringify(s)}`);
  const slash = s.indexOf('/');
  if (slash < 0 && !opts.allowBare) throw new Error(`invalid CIDR ${JSON.stringify(s)}: expected address/prefix, e.g. 10.1.2.0/24`);
  const addrText = slash < 0 ? s : s.slice(0, slash);
  let addr: IpAddress;
  try {
    addr = parseIp(addrText);
  } catch {
    throw new Error(`invalid CIDR ${JSON.stringify(s)}: ${JSON.stringify(addrText)} is not an IP address`);
  }
  const bits = BITS[addr.family];
  let prefix = bits;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) {
      throw new Error(`invalid CIDR ${JSON.stringify(s)}: prefix length must be 0..${bits}`);
    }
    prefix = Number(p);
  }
  const network = addr.value & mask(addr.family, prefix);
  if (opts.strict && network !== addr.value) {
    const meant = formatCidr({ family: addr.family, network, prefix });
    throw new Error(`invalid subnet ${JSON.stringify(s)}: host bits are set, did you mean ${meant}?`);
  }
  return { family: addr.family, network, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.network })}/${c.prefix}`;
}

export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(BITS[c.family] - c.prefix);
}

/** Last address of the prefix (the IPv4 broadcast address). */
export function cidrLast(c: Cidr): bigint {
  return c.network + cidrSize(c) - 1n;
}

export function cidrContains(c: Cidr, a: IpAddress): boolean {
  return c.family === a.family && a.value >= c.network && a.value <= cidrLast(c);
}

export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.network >= outer.network && cidrLast(inner) <= cidrLast(outer);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.network <= cidrLast(b) && b.network <= cidrLast(a);
}

/** The address at offset n within the prefix (n may be negative to count from the end: -1 is the last). */
export function cidrAddress(c: Cidr, n: bigint): IpAddress {
  const value = n >= 0n ? c.network + n : cidrLast(c) + 1n + n;
  if (value < c.network || value > cidrLast(c)) throw new Error(`offset ${n} is outside ${formatCidr(c)}`);
  return { family: c.family, value };
}

/**
 * The addresses a container may get: IPv4 skips the network and broadcast
 * addresses (except in /31 and /32), IPv6 skips the subnet-router anycast.
 */
export function usableRange(c: Cidr): { first: bigint; last: bigint } {
  const last = cidrLast(c);
  if (c.family === 4) {
    if (c.prefix >= 31) return { first: c.network, last };
    return { first: c.network + 1n, last: last - 1n };
  }
  if (c.prefix >= 127) return { first: c.network, last };
  return { first: c.network + 1n, last };
}
