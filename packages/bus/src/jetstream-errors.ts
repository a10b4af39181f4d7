// Recognising JetStream API answers by their stable error codes.
import { NatsError } from 'nats';

export const JS_STREAM_NOT_FOUND = 10059;
export const JS_CONSUMER_NOT_FOUND = 10014;

export function jsErrorCode(err: unknown): number | undefined {
  return err instanceof NatsError ? err.api_error?.err_code : undefined;
}

export function isNoResponders(err: unknown): boolean {
  return err instanceof NatsError && err.code === '503';
}
