// A minimal OCI distribution server for tests that need a registry to
// misbehave: manifests by tag or digest, blobs with Range, and a hook that
// may take over any request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startFakeServer, type FakeServer } from './helpers.js';
import type { Blob, TestImage } from './fixtures.js';

export interface FakeRegistry extends FakeServer {
  manifests: Map<string, { mediaType: string; bytes: Buffer }>;
  blobs: Map<string, Buffer>;
  /** Return true when the hook answered the request itself. */
  hook: ((req: IncomingMessage, res: ServerResponse, route: Route, body: Buffer) => boolean | Promise<boolean>) | undefined;
  addImage(repo: string, tag: string, image: TestImage): void;
  addManifest(repo: string, ref: string, manifest: Blob): void;
}

export interface Route {
  kind: 'manifest' | 'blob' | 'base' | 'other';
  repo?: string;
  ref?: string;
}

function route(url: string): Route {
  const path = url.split('?')[0]!;
  if (path === '/v2/' || path === '/v2') return { kind: 'base' };
  const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
  if (!m) return { kind: 'other' };
  return { kind: m[2] === 'manifests' ? 'manifest' : 'blob', repo: m[1]!, ref: decodeURIComponent(m[3]!) };
}

export async function startFakeRegistry(): Promise<FakeRegistry> {
  const manifests = new Map<string, { mediaType: string; bytes: Buffer }>();
  const blobs = new Map<string, Buffer>();
  const self: Partial<FakeRegistry> = { manifests, blobs, hook: undefined };
  const server = await startFakeServer(async (req, res, body) => {
    const r = route(req.url ?? '');
    if (self.hook && (await self.hook(req, res, r, body))) return;
    if (r.kind === 'base') {
      res.writeHead(200).end('{}');
      return;
    }
    if (r.kind === 'manifest') {
      const m = manifests.get(`${r.repo}:${r.ref}`);
      if (!m) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
        return;
      }
      res.writeHead(200, { 'content-type': m.mediaType, 'content-length': m.bytes.length });
      res.end(req.method === 'HEAD' ? undefined : m.bytes);
      return;
    }
    if (r.kind === 'blob') {
      const b = blobs.get(r.ref!);
      if (!b) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
        return;
      }
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range) {
        const start = Number(range[1]);
        res.writeHead(206, { 'content-length': b.length - start, 'content-range': `bytes ${start}-${b.length - 1}/${b.length}` });
        res.end(b.subarray(start));
        return;
      }
      res.writeHead(200, { 'content-length': b.length });
      res.end(req.method === 'HEAD' ? undefined : b);
      return;
    }
    res.writeHead(404).end();
  });
  Object.assign(self, server, {
    addManifest(repo: string, ref: string, manifest: Blob) {
      manifests.set(`${repo}:${ref}`, { mediaType: manifest.mediaType, bytes: manifest.bytes });
      manifests.set(`${repo}:${manifest.digest}`, { mediaType: manifest.mediaType, bytes: manifest.bytes });
    },
    addImage(repo: string, tag: string, image: TestImage) {
      (self as FakeRegistry).addManifest(repo, tag, image.manifest);
      for (const [d, b] of image.blobs) blobs.set(d, b);
    },
  });
  return self as FakeRegistry;
}
