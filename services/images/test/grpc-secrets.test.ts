// Registry credentials never reach the service's log (captured at trace
// level), its NATS events or its error messages: basic and token auth, with
// refused and accepted credentials from the docker config.json and from the
// request, and the login check. Plus the log-safety parts on their own: an
// error carrying a request's headers is logged without them.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { images } from '@berth/api';
import { busyboxImage, pushImage, startRegistry, type BuiltImage, type TestRegistry } from '@berth/testkit';
import { createHandlers } from '../src/grpc/handlers.js';
import { safeLogger } from '../src/log-safety.js';
import { RegistryError } from '../src/registry/errors.js';
import { collect, grpcError, recordEvents, rpc, startImagesService, type EventLog, type ImagesHarness } from './grpc-harness.js';

let basic: TestRegistry;
let token: TestRegistry;
let busybox: BuiltImage;
let svc: ImagesHarness;
let log: EventLog;
/** Every gRPC error text the tests saw. */
const errorTexts: string[] = [];
/** Identity tokens the login check handed back (to store instead of a password). */
const identityTokens: string[] = [];

const WRONG_PASSWORD = 'wrong-pa55word-for-the-test';
const basicAuth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

beforeAll(async () => {
  busybox = await busyboxImage();
  [basic, token] = await Promise.all([startRegistry({ auth: 'basic' }), startRegistry({ auth: 'token' })]);
  await pushImage(busybox.layoutDir, 'library/busybox:1', { registry: basic });
  await pushImage(busybox.layoutDir, 'library/busybox:1', { registry: token });
  svc = await startImagesService({ logLevel: 'trace' });
  log = await recordEvents(await svc.connectObserver(), 'berth.*.events.>');
});
afterAll(async () => {
  log?.stop();
  await svc?.stop();
  await basic?.stop();
  await token?.stop();
});

function useDockerConfig(auths: Record<string, { auth: string }>): void {
  writeFileSync(svc.dockerConfigPath, JSON.stringify({ auths }), { mode: 0o600 });
}

function pull(reg: TestRegistry, namespace: string, credentials?: Partial<images.RegistryCredentials>) {
  const md = new grpc.Metadata();
  md.set('berth-namespace', namespace);
  return collect(
    svc.clients.transfer.pullImage(
      images.PullImageRequest.fromPartial({
        reference: `${reg.host}/library/busybox:1`,
        unpack: false,
        ...(credentials ? { registry: { credentials } } : {}),
      }),
      md,
    ),
  );
}

async function refused(p: Promise<unknown>, code: grpc.status = grpc.status.UNAUTHENTICATED): Promise<void> {
  const err = await grpcError(p);
  errorTexts.push(`${err.details} ${err.message}`);
  expect(err.code).toBe(code);
}

const verify = (reg: TestRegistry, password: string) =>
  rpc<images.VerifyRegistryCredentialsResponse>((cb) =>
    svc.clients.transfer.verifyRegistryCredentials(
      images.VerifyRegistryCredentialsRequest.fromPartial({
        registryHost: reg.host,
        registry: { credentials: { username: reg.auth!.username, password } },
      }),
      cb,
    ),
  );

describe.each([
  ['basic', () => basic],
  ['token', () => token],
])('%s auth', (mode, registry) => {
  it('refuses anonymous and wrong credentials, accepts the right ones (config.json and request)', async () => {
    const reg = registry();
    const { username, password } = reg.auth!;
    useDockerConfig({});
    await refused(pull(reg, `${mode}-anon`));
    useDockerConfig({ [reg.host]: { auth: basicAuth(username, WRONG_PASSWORD) } });
    await refused(pull(reg, `${mode}-wrong`));
    await refused(pull(reg, `${mode}-wrong-request`, { username, password: WRONG_PASSWORD }));
    useDockerConfig({ [reg.host]: { auth: basicAuth(username, password) } });
    expect((await pull(reg, `${mode}-right`)).at(-1)?.event?.$case).toBe('image');
    useDockerConfig({});
    expect((await pull(reg, `${mode}-right-request`, { username, password })).at(-1)?.event?.$case).toBe('image');
  });

  it('checks logins without echoing the password, returning an identity token where the registry issues one', async () => {
    const reg = registry();
    await refused(verify(reg, WRONG_PASSWORD));
    const ok = await verify(reg, reg.auth!.password);
    if (mode === 'token') {
      expect(ok.identityToken).not.toBe('');
      identityTokens.push(ok.identityToken);
      const messages = await pull(reg, 'token-identity', { username: reg.auth!.username, identityToken: ok.identityToken });
      expect(messages.at(-1)?.event?.$case).toBe('image');
    } else {
      expect(ok.identityToken).toBe('');
    }
  });
});

describe('what the service wrote', () => {
  it('holds no password, base64 auth, Authorization value or token', async () => {
    await log.waitFor((e) => e.type === 'images.pull.failed' && e.namespace === 'token-wrong');
    await log.waitFor((e) => e.type === 'images.pull.finished' && e.namespace === 'token-identity');
    const secrets = [WRONG_PASSWORD, ...identityTokens, ...token.token!.issuedSecrets()];
    for (const reg of [basic, token]) {
      const { username, password } = reg.auth!;
      for (const p of [password, WRONG_PASSWORD]) secrets.push(p, basicAuth(username, p), `Basic ${basicAuth(username, p)}`);
    }
    expect(token.token!.issuedSecrets().length).toBeGreaterThan(0);
    expect(svc.logs.length).toBeGreaterThan(0); // trace level: the capture works
    const written = {
      logs: svc.logs.join('\n'),
      events: JSON.stringify(log.events),
      errors: errorTexts.join('\n'),
    };
    expect(errorTexts.length).toBe(8);
    expect(log.events.filter((e) => e.type === 'images.pull.failed').length).toBe(6);
    for (const secret of secrets) {
      for (const [where, text] of Object.entries(written)) {
        expect(text.includes(secret), `a secret (${secret.slice(0, 4)}…) in the ${where}`).toBe(false);
      }
    }
  });
});

describe('log safety', () => {
  function capture() {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (l: string) => void lines.push(l) });
    return { logger, text: () => lines.join('') };
  }
  const leaky = () => {
    const cause = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', headers: { authorization: 'Basic c2VjcmV0OnB3' } });
    return Object.assign(new RegistryError('INTERNAL', 'blob x: registry answered 202 without a Location header', false, { status: 202, cause }), {
      request: { headers: { authorization: 'Bearer tok-secret' } },
      credentials: { password: 'pw-secret' },
    });
  };

  it('an error is logged with message, code, status and cause, and nothing it carries besides', () => {
    const { logger, text } = capture();
    safeLogger(logger).error({ err: leaky() }, 'failed');
    const out = text();
    expect(out).toContain('registry answered 202 without a Location header');
    expect(out).toContain('"status":202');
    expect(out).toContain('"type":"RegistryError"');
    expect(out).toContain('socket hang up');
    expect(out).toContain('ECONNRESET');
    for (const secret of ['c2VjcmV0OnB3', 'tok-secret', 'pw-secret']) expect(out).not.toContain(secret);
  });

  it("the service's logger redacts secret fields of anything logged as is", () => {
    const { logger, text } = capture();
    safeLogger(logger).info(
      { req: { headers: { authorization: 'Bearer tok-secret' } }, creds: { password: 'pw-secret', identityToken: 'id-secret' }, auth: 'c2VjcmV0' },
      'logged as is',
    );
    const out = text();
    expect(out).toContain('[redacted]');
    for (const secret of ['tok-secret', 'pw-secret', 'id-secret', 'c2VjcmV0']) expect(out).not.toContain(secret);
  });

  it('a failing handler logs the error through the safe form', async () => {
    const { logger, text } = capture();
    const handler = createHandlers(safeLogger(logger)).unary<unknown, unknown>(() => Promise.reject(leaky()));
    const status = await new Promise<grpc.ServiceError | null>((resolve) =>
      handler({ request: {}, metadata: new grpc.Metadata(), getPath: () => '/test/Method' } as never, (err) => resolve(err as grpc.ServiceError | null)),
    );
    expect(status?.code).toBe(grpc.status.INTERNAL);
    const out = text();
    expect(out).toContain('/test/Method failed');
    for (const secret of ['c2VjcmV0OnB3', 'tok-secret', 'pw-secret']) expect(out).not.toContain(secret);
  });
});
