// Everything the harness makes is registered here the moment it exists and
// undone in reverse order at the end — also after a failure, SIGINT or
// SIGTERM (see harness.ts) — so a run leaves no containers, daemons, mounts
// or temp dirs.
import { errorText } from './interleave.js';

interface Step {
  label: string;
  undo: () => Promise<void>;
}

export class Cleanup {
  private readonly steps: Step[] = [];
  private running: Promise<string[]> | undefined;

  /** Registers an undo step; steps run last-registered first. */
  add(label: string, undo: () => Promise<void>): void {
    this.steps.push({ label, undo });
  }

  /** Runs every step once (a second call waits for the first); returns the failures, each naming its step. */
  runAll(log: (msg: string) => void = () => {}): Promise<string[]> {
    this.running ??= (async () => {
      const failures: string[] = [];
      while (this.steps.length > 0) {
        const step = this.steps.pop() as Step;
        try {
          log(`cleanup: ${step.label}`);
          await step.undo();
        } catch (err) {
          failures.push(`${step.label}: ${errorText(err)}`);
        }
      }
      return failures;
    })();
    return this.running;
  }
}

/** Calls handler on SIGINT and SIGTERM; returns a function that removes it. */
export function onSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
