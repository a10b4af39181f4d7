// `--restart no | always | unless-stopped | on-failure[:max-retries]`.
import { UsageError } from '../output.js';

export type RestartName = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface RestartSpec {
  name: RestartName;
  /** Only for on-failure; 0 means no bound. */
  maxRetries: number;
}

export function parseRestart(input: string): RestartSpec {
  const [name = '', retries, ...extra] = input.split(':');
  const usage = 'use no, always, unless-stopped or on-failure[:max-retries]';
  if (extra.length > 0) throw new UsageError(`invalid restart policy "${input}": ${usage}`);
  if (name !== 'no' && name !== 'always' && name !== 'unless-stopped' && name !== 'on-failure') {
    throw new UsageError(`invalid restart policy "${input}": ${usage}`);
  }
  if (retries === undefined) return { name, maxRetries: 0 };
  if (name !== 'on-failure') {
    throw new UsageError(`invalid restart policy "${input}": a maximum retry count applies to on-failure only`);
  }
  if (!/^\d+$/.test(retries) || Number(retries) > 2 ** 31 - 1) {
    throw new UsageError(`invalid restart policy "${input}": max-retries "${retries}" must be a whole number of 0 or more`);
  }
  return { name, maxRetries: Number(retries) };
}
