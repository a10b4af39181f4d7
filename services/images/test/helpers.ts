// Shared test fixtures: a fresh state directory per test, the core parts
// opened on it, and a fake registry (node:http on 127.0.0.1) for bad input.
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { ContentStore } from '../src/content/store.js';
import { openImagesDb, type Store } from '../src/db.js';
import { ImageStore } from '../src/images.js';
import { LeaseManager } from '../src/leases.js';
import { RegistryClient, type RegistryClientOptions } from '../src/registry/client.js';
import type { ImagesEvent } from '../src/events.js';

export interface TestCore {
  dir: string;
  db: Store;
  content: ContentStore;
  images: ImageStore;
  leases: LeaseManager;
  registry: RegistryClient;
  events: ImagesEvent[];
  close(): void;
}

export function tempDir(prefix = 'berth-images-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function openTestCore(registryOptions: RegistryClientOptions = {}, dir = tempDir()): TestCore {
  const db = openImagesDb(join(dir, 'images.db'));
  const content = ContentStore.open(join(dir, 'content'), db);
  const events: ImagesEvent[] = [];
  const images = new ImageStore(db, (e) => events.push(e));
  const leases = new LeaseManager(db);
  const registry = new RegistryClient({
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    timeouts: { headersMs: 2000, idleMs: 2000 },
    ...registryOptions,
  });
  return {
    dir,
    db,
    content,
    images,
    leases,
    registry,
    events,
    close() {
      registry.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every file under blobs/ (there must be none from unverified bytes). */
export function blobFiles(core: { content: ContentStore }): string[] {
  const out: string[] = [];
  const root = core.content.paths.blobsDir;
  if (!existsSync(root)) return out;
  for (const alg of readdirSync(root)) for (const f of readdirSync(join(root, alg))) out.push(`${alg}:${f}`);
  return out.sort();
}

export function sha256(data: Buffer | string): `sha256:${string}` {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface FakeServer {
  host: string;
  url: string;
  requests: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  server: Server;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 with a free port, logging requests. */
export async function startFakeServer(handler: Handler): Promise<FakeServer> {
  const requests: FakeServer['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      Promise.resolve(handler(req, res, Buffer.concat(chunks))).catch((err) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the operation to fail, but it succeeded');
}
