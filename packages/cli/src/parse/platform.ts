// --platform values ("linux/amd64", "linux/arm64/v8"), checked with the OCI rules.
import { InvalidPlatformError, parsePlatform, type Platform } from '@berth/oci';
import { UsageError } from '../output.js';

/** The platform a --platform flag names; undefined when not given. */
export function parsePlatformFlag(spec: string | undefined): Platform | undefined {
  if (spec === undefined || spec === '') return undefined;
  try {
    return parsePlatform(spec);
  } catch (err) {
    if (err instanceof InvalidPlatformError) throw new UsageError(`--platform: ${err.message}`);
    throw err;
  }
}
