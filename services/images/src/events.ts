// Events the images core reports, for the service to publish on NATS. The core
// only calls a sink; a sink that throws never breaks the operation.

export type ImagesEventType =
  | 'images.created'
  | 'images.updated'
  | 'images.deleted'
  | 'images.pull.started'
  | 'images.pull.finished'
  | 'images.pull.failed'
  | 'images.push.finished'
  | 'images.imported'
  | 'content.gc.finished';

export interface ImagesEvent {
  type: ImagesEventType;
  /** The namespace concerned; absent for node-wide events (GC). */
  namespace?: string;
  payload: Record<string, unknown>;
}

export type EventSink = (event: ImagesEvent) => void;

/** Calls the sink (if any), swallowing its errors: events are reports, not part of the operation. */
export function emit(sink: EventSink | undefined, event: ImagesEvent): void {
  if (!sink) return;
  try {
    sink(event);
  } catch {
    // A failing publisher must not undo a committed change; the service logs its own publish errors.
  }
}
