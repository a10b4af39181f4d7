// Human sizes and quantities as Docker's flags take them: "512m", "1.5g",
// "--cpus 1.5", "--pids-limit 100".
import { UsageError } from '../output.js';

const BINARY_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * Bytes in a human size with binary units, as Docker's RAMInBytes reads them:
 * "512m", "1.5g", "64k", "1024", "2gb", "100MiB" (case-insensitive).
 */
export function parseSize(input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kmgtpb]?)(?:i?b)?\s*$/i.exec(input);
  if (!m) {
    throw new UsageError(`invalid size "${input}": expected a number with an optional unit b, k, m, g or t (e.g. 512m)`);
  }
  const unit = m[2]!.toLowerCase();
  const bytes = Math.floor(Number(m[1]) * BINARY_UNITS[unit]!);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`invalid size "${input}": too large`);
  return bytes;
}

/** A memory limit: a size of at least 6 MiB (what runc needs to start anything), or 0 for none. */
export function parseMemory(input: string): number {
  const bytes = parseSize(input);
  if (bytes !== 0 && bytes < 6 * 1024 * 1024) {
    throw new UsageError(`invalid memory limit "${input}": the minimum is 6m`);
  }
  return bytes;
}

/** `--cpus 1.5` in billionths of a CPU (1500000000), as the API's nano_cpus. */
export function parseCpus(input: string): number {
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(input)) {
    throw new UsageError(`invalid number of CPUs "${input}": expected a positive decimal number such as 1.5`);
  }
  const nano = Math.round(Number(input) * 1e9);
  if (nano <= 0) throw new UsageError(`invalid number of CPUs "${input}": must be greater than 0`);
  return nano;
}

/** A whole number within [min, max], for flags like --pids-limit, --tail or --time. */
export function parseInteger(input: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\s*-?\d+\s*$/.test(input)) throw new UsageError(`invalid number "${input}": expected a whole number`);
  const n = Number(input);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
    throw new UsageError(`invalid number "${input}": must be ${range}`);
  }
  return n;
}

/** `--pids-limit`: a positive count, or -1 for unlimited (0 leaves it unset). */
export function parsePidsLimit(input: string): number {
  const n = parseInteger(input, -1);
  return n;
}

/** --tail: a count of lines, or "all". */
export function parseTail(value: string | undefined): number | undefined {
  if (value === undefined || value === 'all') return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`invalid --tail "${value}": use a number of lines or "all"`);
  return Number(value);
}
