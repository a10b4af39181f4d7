import type { ChildProcess } from 'node:child_process';

/**
 * Whether a long-lived child (a helper kept for later use) keeps this
 * process's event loop alive: an idle helper must not (held: false), one
 * whose answer is awaited must (held: true). Its pipes count as well as the
 * process itself.
 */
export function holdEventLoop(child: ChildProcess, held: boolean): void {
  const method = held ? 'ref' : 'unref';
  child[method]();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as Partial<Record<typeof method, () => void>> | null)?.[method]?.();
}
