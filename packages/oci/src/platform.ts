// Platforms (os/architecture/variant) with containerd's normalisation, so
// "linux/aarch64", "linux/arm64" and "linux/arm64/v8" all mean the same.
import { arch as nodeArch, endianness } from 'node:os';
import { InvalidPlatformError } from './errors.js';
import type { Platform } from './types.js';

const KNOWN_OS: ReadonlySet<string> = new Set([
  'aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js',
  'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows', 'zos',
]);
const KNOWN_ARCH: ReadonlySet<string> = new Set([
  '386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'loong64', 'mips', 'mipsle',
  'mips64', 'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'ppc64', 'ppc64le', 'riscv', 'riscv64',
  's390', 's390x', 'sparc', 'sparc64', 'wasm',
  // aliases normalised below
  'x86_64', 'x86-64', 'aarch64', 'armhf', 'armel', 'i386', 'i686', 'x86',
]);
const COMPONENT = /^[A-Za-z0-9_.-]+$/;

const NODE_OS: Record<string, string> = {
  linux: 'linux', darwin: 'darwin', win32: 'windows', freebsd: 'freebsd', openbsd: 'openbsd',
  netbsd: 'netbsd', sunos: 'solaris', aix: 'aix', android: 'android', cygwin: 'windows',
};

/**
 * The OCI platform for a Node `process.platform` / `process.arch` pair
 * (x64 -> amd64, ia32 -> 386, arm64 -> arm64/v8, arm -> arm/v<armVersion or 7>).
 * Pure, so it can be tested for every mapping; see hostPlatform().
 */
export function platformFromNode(
  nodePlatform: string,
  arch: string,
  options: { armVersion?: string | number; littleEndian?: boolean } = {},
): Platform {
  const os = NODE_OS[nodePlatform] ?? nodePlatform;
  switch (arch) {
    case 'x64':
      return { os, architecture: 'amd64' };
    case 'ia32':
      return { os, architecture: '386' };
    case 'arm64':
      return { os, architecture: 'arm64', variant: 'v8' };
    case 'arm':
      return { os, architecture: 'arm', variant: `v${options.armVersion ?? 7}` };
    case 'ppc64':
      return { os, architecture: options.littleEndian === false ? 'ppc64' : 'ppc64le' };
    case 'mipsel':
      return { os, architecture: 'mipsle' };
    case 'mips64el':
      return { os, architecture: 'mips64le' };
    default:
      // s390x, riscv64, loong64, mips, ppc, s390 already use the OCI names.
      return { os, architecture: arch };
  }
}

/** The platform this process runs on, in OCI terms. */
export function hostPlatform(): Platform {
  const variables = process.config.variables as unknown as Record<string, unknown>;
  const armVersion = variables.arm_version;
  return platformFromNode(process.platform, nodeArch(), {
    armVersion: typeof armVersion === 'string' || typeof armVersion === 'number' ? armVersion : undefined,
    littleEndian: endianness() === 'LE',
  });
}

/** "os/arch[/variant]". */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * Canonical form: lowercase, architecture aliases resolved, and variants
 * defaulted the way containerd does (arm64 -> v8, arm -> v7, amd64 v1 -> none).
 */
export function normalizePlatform(p: Platform): Platform {
  let os = p.os.toLowerCase();
  if (os === 'macos') os = 'darwin';
  let architecture = p.architecture.toLowerCase();
  let variant: string | undefined = p.variant ? p.variant.toLowerCase() : undefined;
  switch (architecture) {
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1' || variant === '1') variant = undefined;
      else if (variant && /^\d+$/.test(variant)) variant = `v${variant}`;
      break;
    case 'i386':
    case 'i686':
    case 'x86':
    case '386':
      architecture = '386';
      variant = undefined;
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === undefined || variant === '8' || variant === 'v8' || variant === 'v8.0') variant = 'v8';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      else if (/^\d/.test(variant)) variant = `v${variant}`;
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === undefined) variant = 'v7';
      else if (/^\d+$/.test(variant)) variant = `v${variant}`;
      break;
    default:
      break;
  }
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  if (p['os.version'] !== undefined) out['os.version'] = p['os.version'];
  if (p['os.features'] !== undefined) out['os.features'] = [...p['os.features']];
  return out;
}

/**
 * Parses "os", "arch", "os/arch" or "os/arch/variant" (containerd syntax) and
 * normalises it. A lone OS takes the host's architecture; a lone architecture
 * takes the host's OS.
 */
export function parsePlatform(spec: string): Platform {
  const trimmed = spec.trim();
  if (trimmed === '') throw new InvalidPlatformError(spec, 'empty platform');
  const parts = trimmed.split('/');
  if (parts.length > 3) {
    throw new InvalidPlatformError(spec, `expected os[/arch[/variant]], got ${parts.length} components`);
  }
  parts.forEach((part, i) => {
    if (part === '') throw new InvalidPlatformError(spec, `empty component at position ${i + 1}`);
    if (!COMPONENT.test(part)) {
      throw new InvalidPlatformError(
        spec,
        `component ${JSON.stringify(part)} may contain only letters, digits, "_", "." and "-"`,
      );
    }
  });
  const [first, second, third] = parts.map((p) => p.toLowerCase()) as [string, string?, string?];
  if (second === undefined) {
    const host = hostPlatform();
    if (KNOWN_OS.has(first)) return normalizePlatform({ ...host, os: first });
    if (KNOWN_ARCH.has(first)) return normalizePlatform({ os: host.os, architecture: first });
    throw new InvalidPlatformError(spec, `${JSON.stringify(first)} is neither a known operating system nor architecture`);
  }
  const platform: Platform = { os: first, architecture: second };
  if (third !== undefined) platform.variant = third;
  return normalizePlatform(platform);
}

/** Numeric level of a variant like "v7" or "v8.2"; 1 for none (amd64 v1). */
function variantLevel(variant: string | undefined): number {
  if (variant === undefined) return 1;
  const m = /^v(\d+(?:\.\d+)?)$/.exec(variant);
  return m ? Number(m[1]) : Number.NaN;
}

/** Architectures whose variants are ordered levels, a host at one level running all lower ones. */
const LEVELLED_ARCH: ReadonlySet<string> = new Set(['amd64', 'arm', 'arm64']);

/**
 * True when an image built for `have` runs on (or is what is asked for by) `want`.
 * OS and architecture must be equal after normalisation. Variants: arm, arm64
 * and amd64 accept lower levels (arm/v7 runs arm/v6); amd64 without a wanted
 * variant accepts any; other architectures need the same variant, if one is wanted.
 */
export function platformMatches(want: Platform, have: Platform): boolean {
  return matchScore(normalizePlatform(want), want.variant !== undefined, normalizePlatform(have)) > 0;
}

/**
 * How well `have` fits `want` (both normalised): 0 no match, higher is better.
 * An exact variant beats a compatible one; among compatible, a wanted level
 * prefers the highest below it, and no wanted level prefers the most basic.
 */
export function matchScore(want: Platform, variantAsked: boolean, have: Platform): number {
  if (want.os !== have.os || want.architecture !== have.architecture) return 0;
  if (want.variant === have.variant) return 1000;
  const arch = want.architecture;
  if (LEVELLED_ARCH.has(arch)) {
    const haveLevel = variantLevel(have.variant);
    if (Number.isNaN(haveLevel)) return 0;
    if (arch === 'amd64' && !variantAsked) return 500 - haveLevel;
    const wantLevel = variantLevel(want.variant);
    return haveLevel <= wantLevel ? 500 + haveLevel : 0;
  }
  return want.variant === undefined ? 500 : 0;
}
