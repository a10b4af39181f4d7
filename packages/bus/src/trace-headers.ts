// W3C trace context <-> NATS message headers.
import {
  extractContext,
  injectContext,
  ROOT_CONTEXT,
  trace,
  type Carrier,
  type Context,
} from '@berth/telemetry';
import { headers as natsHeaders, type MsgHdrs } from 'nats';

/** New NATS headers carrying the trace context of ctx (traceparent, tracestate). */
export function headersWithTrace(ctx: Context, into: MsgHdrs = natsHeaders()): MsgHdrs {
  for (const [key, value] of Object.entries(injectContext<Carrier>({}, ctx))) into.set(key, value);
  return into;
}

/** Header names lower-cased, so lookups do not depend on the sender's spelling. */
export function headerCarrier(h: MsgHdrs | undefined): Carrier {
  const carrier: Carrier = {};
  if (!h) return carrier;
  for (const key of h.keys()) carrier[key.toLowerCase()] = h.get(key);
  return carrier;
}

/**
 * The remote parent of a received message: from its headers, else from the
 * envelope's traceparent. Built on the root context, never on whatever span
 * happened to be active where the subscription was created.
 */
export function messageParentContext(h: MsgHdrs | undefined, fallbackTraceparent?: string): Context {
  const carrier = headerCarrier(h);
  if (!carrier.traceparent && fallbackTraceparent) carrier.traceparent = fallbackTraceparent;
  const ctx = extractContext(carrier, ROOT_CONTEXT);
  return trace.getSpan(ctx) ? ctx : ROOT_CONTEXT;
}
