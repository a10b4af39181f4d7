// Concurrent steps whose failure must not leave a sibling still running:
// the caller tears down what was made, so it waits until every step is done.

/** Waits for every promise; resolves with their values, or rejects with the first failure (in order given). */
export async function allSettledOrThrow<T extends readonly unknown[]>(
  steps: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const results = await Promise.allSettled(steps);
  for (const result of results) {
    if (result.status === 'rejected') throw result.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
