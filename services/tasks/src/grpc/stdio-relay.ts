// The stdio pass-through that AttachTask and RunContainer share: the client's
// frames (stdin, resizes, stdin close) up to the agent's attach stream, the
// agent's output frames down to the client, until the process's exit frame.
import type * as grpc from '@grpc/grpc-js';
import { drainedOrCancelled } from '@berth/service-kit';
import type { agent, types } from '@berth/api';
import type { AttachStream } from '../ports.js';

/** A frame the agent's attach stream takes after its target. */
export type StdioFrame = Exclude<NonNullable<agent.AttachTaskRequest['frame']>, { $case: 'target' }>;

/**
 * Relays until the exit frame, which it forwards too and resolves with;
 * undefined when the client went away or the agent's stream ended without
 * one. The client's half-close half-closes the agent side. A frame toStdio
 * refuses (it throws) cancels the agent's stream and rejects, as does a
 * failed agent stream.
 */
export function relayStdio<Req extends { frame?: { $case: string } | undefined }>(
  call: grpc.ServerDuplexStream<Req, agent.AttachTaskResponse>,
  stream: AttachStream,
  requests: AsyncIterator<Req>,
  toStdio: (frame: NonNullable<Req['frame']>) => StdioFrame,
): Promise<types.ExitStatus | undefined> {
  const upstream = (async () => {
    for (;;) {
      const next = await requests.next();
      if (next.done) break;
      const f = next.value.frame;
      if (f) stream.send({ frame: toStdio(f as NonNullable<Req['frame']>) });
    }
    stream.end();
  })();
  const upstreamFailed = upstream.then(
    () => new Promise<never>(() => undefined),
    (err: unknown) => {
      stream.cancel();
      throw err;
    },
  );
  const downstream = (async () => {
    for await (const msg of stream) {
      if (call.cancelled) return undefined;
      if (!call.write(msg) && !(await drainedOrCancelled(call))) return undefined;
      if (msg.frame?.$case === 'exit') return msg.frame.value;
    }
    return undefined;
  })();
  return Promise.race([downstream, upstreamFailed]);
}
