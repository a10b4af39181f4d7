// A plain NATS client for the two things the benchmark does on berth's bus:
// JSON request/reply to the tasks service (an orchestrator's way in) and
// listening to events as they are published.
import { connect, type NatsConnection } from 'nats';

/** The tasks service's bus API (any instance, queue group "tasks"): create and start; remove. */
export const RUN_SUBJECT = 'berth.rpc.tasks.containers.run';
export const REMOVE_SUBJECT = 'berth.rpc.tasks.containers.remove';

export async function connectNats(url: string): Promise<NatsConnection> {
  return connect({ servers: url, name: 'berth-bench', reconnect: false });
}

/** The result of a `{ result } | { error: { code, message } }` reply; the error is thrown naming the subject. Pure. */
export function replyResult(subject: string, data: Uint8Array): unknown {
  const text = new TextDecoder().decode(data);
  let body: { result?: unknown; error?: { code?: string; message?: string } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`reply on ${subject} is not JSON: ${text.slice(0, 200)}`);
  }
  if (body.error) throw new Error(`${subject} answered ${body.error.code ?? 'an error'}: ${body.error.message ?? text}`);
  if (!('result' in body)) throw new Error(`reply on ${subject} is neither { result } nor { error }: ${text.slice(0, 200)}`);
  return body.result;
}

export async function requestJson(nc: NatsConnection, subject: string, body: unknown, timeoutMs: number): Promise<unknown> {
  const msg = await nc.request(subject, new TextEncoder().encode(JSON.stringify(body)), { timeout: timeoutMs });
  return replyResult(subject, msg.data);
}
