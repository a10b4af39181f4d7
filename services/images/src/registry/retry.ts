// Retries with exponential backoff and full jitter for transient registry
// failures (connection resets, timeouts, 429 with Retry-After, 5xx). Anything
// not marked retryable (4xx, bad content) fails at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryError } from './errors.js';

export interface RetryPolicy {
  /** Total tries including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the call fails with the registry's answer. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 };

/** Delay before retry number `retry` (0-based): random in [cap/2, cap], cap = min(max, base * 2^retry). */
export function backoffDelay(policy: RetryPolicy, retry: number, random = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** Parses Retry-After (delta seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export async function withRetry<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  fn: (attempt: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (!(err instanceof RegistryError) || !err.retryable) throw err;
      if (attempt + 1 >= policy.attempts) {
        err.message = `${err.message} (gave up after ${policy.attempts} attempts)`;
        throw err;
      }
      const retryAfter = err.details.retryAfterMs;
      if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs) {
        err.message = `${err.message} (registry asks to retry after ${Math.ceil(retryAfter / 1000)} s, longer than the ${Math.round(policy.maxRetryAfterMs / 1000)} s berth waits)`;
        throw err;
      }
      const delay = Math.max(backoffDelay(policy, attempt), retryAfter ?? 0);
      await sleep(delay, undefined, signal ? { signal } : {});
    }
  }
}
