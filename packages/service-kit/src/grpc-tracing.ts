import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, context, propagation, trace, type Span } from '@berth/telemetry';

const TRACER = 'berth-grpc';

/** gRPC metadata as a W3C carrier (traceparent, tracestate, baggage). */
const metadataGetter = {
  keys: (md: grpc.Metadata) => Object.keys(md.getMap()),
  get: (md: grpc.Metadata, key: string) => {
    const v = md.get(key);
    return v.length ? v.map(String) : undefined;
  },
};
const metadataSetter = { set: (md: grpc.Metadata, key: string, value: string) => md.set(key, value) };

function endWithStatus(span: Span, code: grpc.status, details?: string): void {
  span.setAttribute('rpc.grpc.status_code', code);
  if (code !== grpc.status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: details ?? grpc.status[code] });
  span.end();
}

/** Client interceptor: a CLIENT span per call whose context travels in the call's metadata. */
export const tracingClientInterceptor: grpc.Interceptor = (options, nextCall) => {
  const path = options.method_definition.path;
  const [service = '', method = ''] = path.slice(1).split('/');
  return new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      const span = trace.getTracer(TRACER).startSpan(path.slice(1), {
        kind: SpanKind.CLIENT,
        attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method },
      });
      propagation.inject(trace.setSpan(context.active(), span), metadata, metadataSetter);
      next(metadata, {
        onReceiveStatus(status, nextStatus) {
          endWithStatus(span, status.code, status.details);
          nextStatus(status);
        },
      });
      void listener;
    },
  });
};

type AnyHandler = (call: any, callback?: any) => unknown;

/**
 * Wraps each handler of a service so it runs inside a SERVER span whose parent
 * is the trace context the caller sent in metadata.
 */
export function withServerTracing<T extends object>(definition: grpc.ServiceDefinition, handlers: T): T {
  const tracer = trace.getTracer(TRACER);
  const out: Record<string, AnyHandler> = {};
  for (const [name, fn] of Object.entries(handlers as Record<string, AnyHandler>)) {
    const def = definition[name];
    if (!def || typeof fn !== 'function') {
      out[name] = fn;
      continue;
    }
    const spanName = def.path.slice(1);
    const [service = '', method = ''] = spanName.split('/');
    out[name] = (call: any, callback?: any) => {
      const parent = propagation.extract(context.active(), call.metadata as grpc.Metadata, metadataGetter);
      const span = tracer.startSpan(
        spanName,
        { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method } },
        parent,
      );
      const ctx = trace.setSpan(parent, span);
      if (!def.responseStream && typeof callback === 'function') {
        // unary and client-streaming: the callback carries the outcome
        const cb = (err: grpc.ServiceError | null, value?: unknown, trailer?: grpc.Metadata, flags?: number) => {
          endWithStatus(span, err ? (err.code ?? grpc.status.UNKNOWN) : grpc.status.OK, err?.message);
          callback(err, value, trailer, flags);
        };
        return context.with(ctx, () => fn(call, cb));
      }
      // server- and bidi-streaming: the call itself reports the outcome
      let ended = false;
      const finish = (code: grpc.status, msg?: string) => {
        if (!ended) {
          ended = true;
          endWithStatus(span, code, msg);
        }
      };
      call.on('finish', () => finish(grpc.status.OK));
      call.on('cancelled', () => finish(grpc.status.CANCELLED));
      call.on('error', (e: grpc.ServiceError) => finish(e.code ?? grpc.status.UNKNOWN, e.message));
      return context.with(ctx, () => fn(call));
    };
  }
  return out as T;
}
