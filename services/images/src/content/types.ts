import type { Digest } from '@berth/oci';
import type { Labels } from '../labels.js';

/** A committed blob. */
export interface ContentInfo {
  digest: Digest;
  size: number;
  labels: Labels;
  createdAt: Date;
  updatedAt: Date;
}

/** An active (or interrupted) ingest. */
export interface IngestStatus {
  ref: string;
  /** Bytes received so far. */
  offset: number;
  /** Expected total size, when the writer was told. */
  total?: number;
  /** Expected digest, when the writer was told. */
  expected?: Digest;
  startedAt: Date;
  /** Last write (the data file's mtime). */
  updatedAt: Date;
  /** True while a writer holds the ingest. */
  active: boolean;
}
