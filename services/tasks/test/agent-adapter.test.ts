// The agent adapter's reading of the berth-exit-code trailer on a failed start.
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { withTrailerExitCode } from '../src/adapters/agent.js';
import { TasksError, withContext } from '../src/errors.js';

function serviceError(code: status, details: string, trailers: Record<string, string>) {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata });
}

describe('withTrailerExitCode', () => {
  it('carries the trailer\'s exit code, the code and the message, through withContext too', () => {
    const err = withTrailerExitCode(serviceError(status.FAILED_PRECONDITION, 'exec: "nope": not found', { 'berth-exit-code': '127' }));
    expect(err).toBeInstanceOf(TasksError);
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION, message: 'exec: "nope": not found', exitCode: 127 });
    expect(withContext(err, 'cannot create the task of container x').exitCode).toBe(127);
    expect((withTrailerExitCode(serviceError(status.FAILED_PRECONDITION, 'x', { 'berth-exit-code': '126' })) as TasksError).exitCode).toBe(126);
  });

  it('leaves errors without a valid trailer unchanged', () => {
    const plain = serviceError(status.INTERNAL, 'no such file or directory', {});
    expect(withTrailerExitCode(plain)).toBe(plain);
    const bad = serviceError(status.INTERNAL, 'x', { 'berth-exit-code': 'many' });
    expect(withTrailerExitCode(bad)).toBe(bad);
    const other = new Error('boom');
    expect(withTrailerExitCode(other)).toBe(other);
  });
});
