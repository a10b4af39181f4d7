import type { Platform } from './layout.js';

const NODE_TO_OCI_ARCH: Record<string, Platform> = {
  x64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
  ia32: { os: 'linux', architecture: '386' },
  ppc64: { os: 'linux', architecture: 'ppc64le' },
  s390x: { os: 'linux', architecture: 's390x' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
};

/** linux/<this machine's architecture> in OCI terms (x64 → amd64). */
export function hostPlatform(): Platform {
  const p = NODE_TO_OCI_ARCH[process.arch];
  if (!p) throw new Error(`no OCI architecture known for Node's process.arch ${JSON.stringify(process.arch)}`);
  return { ...p };
}

/** 'linux/arm64/v8' → { os, architecture, variant }. */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant, ...rest] = text.split('/');
  if (!os || !architecture || rest.length > 0 || variant === '') {
    throw new Error(`platform ${JSON.stringify(text)} is not os/architecture[/variant]`);
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
