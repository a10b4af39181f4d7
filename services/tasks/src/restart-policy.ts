// When a container is restarted after its task exits, and after how long:
// Docker's rules (no | on-failure[:max] | always | unless-stopped) with its
// backoff (100 ms doubling up to 1 min, reset once a run lasted 10 s).

export type RestartPolicyKind = 'no' | 'on-failure' | 'always' | 'unless-stopped';

export interface RestartPolicySpec {
  kind: RestartPolicyKind;
  /** on-failure only: most restarts; 0 for no bound. */
  maxRetries: number;
}

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  /** A run at least this long resets the backoff to initialMs. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 100, maxMs: 60_000, resetAfterMs: 10_000 };

export interface ExitFacts {
  exitCode: number;
  /** Restarts done by the policy since the user last started the container. */
  restartCount: number;
  /** The user stopped (or killed through stop) the container; no policy restarts it until the next start. */
  stoppedByUser: boolean;
  /** The container is being removed. */
  removing: boolean;
  /** How long the task ran before it exited. */
  ranForMs: number;
  /** Delay before the previous policy restart; 0 when there was none. */
  previousDelayMs: number;
}

export type RestartDecision = { restart: false; reason: string } | { restart: true; delayMs: number };

/** Whether a policy restarts a task that exited as `facts` says (ignoring backoff). */
export function policyWantsRestart(policy: RestartPolicySpec, facts: ExitFacts): { restart: boolean; reason: string } {
  if (facts.removing) return { restart: false, reason: 'the container is being removed' };
  if (facts.stoppedByUser) return { restart: false, reason: 'the user stopped the container' };
  switch (policy.kind) {
    case 'no':
      return { restart: false, reason: 'restart policy is "no"' };
    case 'always':
    case 'unless-stopped':
      return { restart: true, reason: `restart policy is "${policy.kind}"` };
    case 'on-failure':
      if (facts.exitCode === 0) return { restart: false, reason: 'the task exited with code 0' };
      if (policy.maxRetries > 0 && facts.restartCount >= policy.maxRetries) {
        return { restart: false, reason: `maximum restart count ${policy.maxRetries} reached` };
      }
      return { restart: true, reason: `exit code ${facts.exitCode} under "on-failure"` };
  }
}

/** The delay before the next restart: doubling from initialMs, capped at maxMs, reset after a long enough run. */
export function nextBackoffMs(previousDelayMs: number, ranForMs: number, settings: BackoffSettings = DEFAULT_BACKOFF): number {
  if (previousDelayMs <= 0 || ranForMs >= settings.resetAfterMs) return Math.min(settings.initialMs, settings.maxMs);
  return Math.min(previousDelayMs * 2, settings.maxMs);
}

/** Restart or not after an exit, and when. */
export function decideRestart(
  policy: RestartPolicySpec,
  facts: ExitFacts,
  settings: BackoffSettings = DEFAULT_BACKOFF,
): RestartDecision {
  const wanted = policyWantsRestart(policy, facts);
  if (!wanted.restart) return { restart: false, reason: wanted.reason };
  return { restart: true, delayMs: nextBackoffMs(facts.previousDelayMs, facts.ranForMs, settings) };
}

/**
 * Whether a stopped container should be started again when the service
 * starts up (Docker's daemon-restart rule): "always" even after a user stop,
 * "unless-stopped" unless the user stopped it, "on-failure" only when the
 * last exit was a failure with retries left.
 */
export function restartOnServiceStart(
  policy: RestartPolicySpec,
  facts: { exitCode: number; restartCount: number; stoppedByUser: boolean },
): boolean {
  switch (policy.kind) {
    case 'no':
      return false;
    case 'always':
      return true;
    case 'unless-stopped':
      return !facts.stoppedByUser;
    case 'on-failure':
      return (
        !facts.stoppedByUser &&
        facts.exitCode !== 0 &&
        (policy.maxRetries === 0 || facts.restartCount < policy.maxRetries)
      );
  }
}
