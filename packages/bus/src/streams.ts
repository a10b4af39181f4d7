// The JetStream stream that keeps events which must not be lost (task exits,
// image created/deleted): every berth.*.events.> message, on disk, 7 days.
import { DiscardPolicy, nanos, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from 'nats';
import { EVENTS_STREAM, EVENTS_STREAM_SUBJECTS } from './subjects.js';
import { JS_STREAM_NOT_FOUND, jsErrorCode } from './jetstream-errors.js';

export const EVENTS_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/** Publishes retried within this window with the same envelope id are stored once. */
export const EVENTS_DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

export function eventsStreamConfig(): Partial<StreamConfig> & { name: string } {
  return {
    name: EVENTS_STREAM,
    description: 'berth events that must not be lost (task exits, image changes, ...)',
    subjects: [...EVENTS_STREAM_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(EVENTS_MAX_AGE_MS),
    duplicate_window: nanos(EVENTS_DUPLICATE_WINDOW_MS),
    num_replicas: 1,
  };
}

export type EnsureStreamResult = 'created' | 'updated' | 'unchanged';

/**
 * Creates BERTH_EVENTS, or brings the settings berth owns (subjects, max age,
 * duplicate window) back in line. Settings an operator may tune (replicas,
 * size limits) are left as found; storage and retention cannot change in
 * place, so a mismatch there is an error that names both values.
 */
export async function ensureEventsStream(jsm: JetStreamManager): Promise<EnsureStreamResult> {
  const want = eventsStreamConfig();
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(want.name)).config;
  } catch (err) {
    if (jsErrorCode(err) !== JS_STREAM_NOT_FOUND) throw streamError('read', err);
    try {
      await jsm.streams.add(want);
    } catch (addErr) {
      throw streamError('create', addErr);
    }
    return 'created';
  }
  for (const key of ['storage', 'retention'] as const) {
    if (current[key] !== want[key]) {
      throw new Error(
        `JetStream stream ${want.name} exists with ${key} "${current[key]}" but berth needs "${want[key]}"; ` +
          `it cannot be changed in place: move its messages elsewhere and delete the stream`,
      );
    }
  }
  const sameSubjects =
    current.subjects.length === want.subjects?.length && current.subjects.every((s, i) => s === want.subjects?.[i]);
  if (sameSubjects && current.max_age === want.max_age && current.duplicate_window === want.duplicate_window) {
    return 'unchanged';
  }
  try {
    await jsm.streams.update(want.name, {
      ...current,
      subjects: want.subjects,
      max_age: want.max_age,
      duplicate_window: want.duplicate_window,
    } as StreamConfig);
  } catch (err) {
    throw streamError('update', err);
  }
  return 'updated';
}

function streamError(action: string, err: unknown): Error {
  return new Error(`could not ${action} JetStream stream ${EVENTS_STREAM}: ${(err as Error).message}`, { cause: err });
}
