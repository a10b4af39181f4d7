// The Debian mirror this machine's apt uses: the only host debootstrap may
// talk to.
import { existsSync, readFileSync } from 'node:fs';

interface Source {
  types: string[];
  uris: string[];
  suites: string[];
}

function deb822Sources(text: string): Source[] {
  return text
    .split(/\n\s*\n/)
    .map((stanza) => {
      const fields = new Map<string, string>();
      for (const line of stanza.split('\n')) {
        if (line.startsWith('#')) continue;
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (m?.[1] && m[2] !== undefined) fields.set(m[1].toLowerCase(), m[2].trim());
      }
      const list = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
      return { types: list('types'), uris: list('uris'), suites: list('suites') };
    })
    .filter((s) => s.uris.length > 0);
}

function oneLineSources(text: string): Source[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((l) => l.replace(/\[[^\]]*\]\s*/, '').split(/\s+/))
    .filter((parts) => parts.length >= 3)
    .map(([type, uri, suite]) => ({ types: [type ?? ''], uris: [uri ?? ''], suites: [suite ?? ''] }));
}

/** The URI apt uses for `deb` packages of `suite`, from /etc/apt (deb822 .sources or sources.list). */
export function aptMirrorFor(suite: string, etcApt = '/etc/apt'): string {
  const files: { path: string; parse: (t: string) => Source[] }[] = [
    { path: `${etcApt}/sources.list.d/debian.sources`, parse: deb822Sources },
    { path: `${etcApt}/sources.list`, parse: oneLineSources },
  ];
  const seen: string[] = [];
  for (const { path, parse } of files) {
    if (!existsSync(path)) continue;
    seen.push(path);
    for (const source of parse(readFileSync(path, 'utf8'))) {
      const uri = source.uris[0];
      if (uri && source.types.includes('deb') && source.suites.includes(suite)) return uri;
    }
  }
  throw new Error(
    `no apt source for suite ${JSON.stringify(suite)} in ${seen.length ? seen.join(', ') : `${etcApt}/sources.list.d/debian.sources or ${etcApt}/sources.list (neither exists)`}`,
  );
}
