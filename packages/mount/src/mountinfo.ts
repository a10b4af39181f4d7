/**
 * /proc/<pid>/mountinfo, parsed. Pure: the table is text in, records out.
 * Line format (proc(5)):
 *   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   id parent major:minor root mount-point mount-options [optional fields] - fstype source super-options
 */
export interface MountInfo {
  id: number;
  parentId: number;
  /** "major:minor" of the filesystem's device. */
  device: string;
  /** The directory of the filesystem mounted here (a bind mount's subtree). */
  root: string;
  mountPoint: string;
  mountOptions: string[];
  /** Propagation and the like: "shared:1", "master:2", ... */
  optionalFields: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** The kernel writes space, tab, newline and backslash in paths as \ooo. */
export function unescapeMountInfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** One line, or undefined for a line that is not a mount record (blank, cut short). */
export function parseMountInfoLine(line: string): MountInfo | undefined {
  const sep = line.indexOf(' - ');
  if (sep < 0) return undefined;
  const left = line.slice(0, sep).split(' ');
  const right = line.slice(sep + 3).split(' ');
  const [id, parentId, device, root, mountPoint, mountOptions, ...optionalFields] = left;
  const [fsType, source, superOptions] = right;
  if (mountOptions === undefined || fsType === undefined) return undefined;
  return {
    id: Number(id),
    parentId: Number(parentId),
    device: device ?? '',
    root: unescapeMountInfo(root ?? ''),
    mountPoint: unescapeMountInfo(mountPoint ?? ''),
    mountOptions: mountOptions.split(','),
    optionalFields,
    fsType,
    source: unescapeMountInfo(source ?? ''),
    superOptions: superOptions === undefined || superOptions === '' ? [] : superOptions.split(',').map(unescapeMountInfo),
  };
}

export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const m = parseMountInfoLine(line);
    if (m) out.push(m);
  }
  return out;
}

/** Mount points at or below `dir` (a canonical path), each once, deepest first. */
export function mountPointsUnder(table: readonly MountInfo[], dir: string): string[] {
  const base = dir === '/' ? '' : dir;
  const points = new Set(table.map((m) => m.mountPoint).filter((p) => p === dir || p.startsWith(`${base}/`)));
  return [...points].sort((a, b) => b.length - a.length);
}

/**
 * Whether an overlay in the table uses `upper` (a canonical path) as its
 * upper dir. Overlays mounted with relative paths (see compactOverlayOptions)
 * are matched by suffix, which can only err towards "in use".
 */
export function overlayUsesUpper(table: readonly MountInfo[], upper: string): boolean {
  const want = upper.replace(/\/+$/, '');
  return table.some(
    (m) =>
      m.fsType === 'overlay' &&
      m.superOptions.some((o) => {
        if (!o.startsWith('upperdir=')) return false;
        const value = o.slice('upperdir='.length).replace(/\/+$/, '');
        return value === want || (!value.startsWith('/') && want.endsWith(`/${value}`));
      }),
  );
}
