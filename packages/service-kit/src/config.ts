import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** A name usable as a NATS subject token and a file name. */
const token = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'only letters, digits, "_" and "-"');

const tlsFiles = z
  .object({
    caFile: z.string().optional(),
    certFile: z.string().optional(),
    keyFile: z.string().optional(),
  })
  .strict();

/** Settings every berth service shares; services extend it with their own. */
export const baseConfigSchema = z
  .object({
    /** Node identity: the hostname unless configured. */
    node: token.default(() => hostname().split('.')[0] || 'node'),
    /** Namespace used for events when a request names none. */
    namespace: token.default('default'),
    /** State root; each service keeps its data under <root>/<service>. */
    root: z.string().min(1).default('/var/lib/berth'),
    /** Runtime root: sockets and service state files. */
    runtimeDir: z.string().min(1).default('/run/berth'),
    grpc: z
      .object({
        /** Unix socket path; default <runtimeDir>/<service>.sock. */
        socket: z.string().optional(),
        /** Socket file mode (octal string or number). */
        socketMode: z.coerce.number().int().min(0).max(0o777).default(0o660),
        /** Optional TCP listener, e.g. "0.0.0.0:7443"; requires mTLS files. */
        tcp: z.string().regex(/^[^\s:]*:\d{1,5}$/, 'expected host:port').optional(),
        tls: tlsFiles.optional(),
        /** How long graceful shutdown waits for in-flight calls. */
        drainTimeoutMs: z.number().int().min(0).default(10_000),
      })
      .strict()
      .default({}),
    nats: z
      .object({
        url: z.string().min(1).default('nats://127.0.0.1:4222'),
        token: z.string().optional(),
        user: z.string().optional(),
        pass: z.string().optional(),
        credsFile: z.string().optional(),
        nkeySeedFile: z.string().optional(),
        tls: tlsFiles.optional(),
      })
      .strict()
      .default({}),
    /** Addresses of peer services; default unix:<runtimeDir>/<name>.sock. */
    peers: z.record(z.string(), z.string()).default({}),
    metrics: z
      .object({
        /** Prometheus endpoint port; off unless set. */
        port: z.number().int().min(0).max(65535).optional(),
        host: z.string().default('127.0.0.1'),
      })
      .strict()
      .default({}),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
      .strict()
      .default({}),
  })
  .strict();

export type BaseConfig = z.infer<typeof baseConfigSchema>;

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`invalid ${service} configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Origin = 'file' | 'env' | 'flag';
type Leaf = { path: string[]; kind: 'string' | 'number' | 'boolean' | 'array' | 'record' };

/** Unwraps defaults/optionals/effects to the shape underneath. */
function unwrap(t: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (t instanceof z.ZodDefault) t = t._def.innerType;
    else if (t instanceof z.ZodOptional || t instanceof z.ZodNullable) t = t.unwrap();
    else if (t instanceof z.ZodEffects) t = t.innerType();
    else return t;
  }
}

/** Every settable leaf of an object schema, for env and flag mapping. */
export function configLeaves(schema: z.ZodTypeAny, prefix: string[] = []): Leaf[] {
  const t = unwrap(schema);
  if (t instanceof z.ZodObject) {
    return Object.entries(t.shape as Record<string, z.ZodTypeAny>).flatMap(([k, v]) => configLeaves(v, [...prefix, k]));
  }
  const kind =
    t instanceof z.ZodNumber
      ? 'number'
      : t instanceof z.ZodBoolean
        ? 'boolean'
        : t instanceof z.ZodArray
          ? 'array'
          : t instanceof z.ZodRecord
            ? 'record'
            : 'string';
  return [{ path: prefix, kind }];
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** BERTH_NATS_URL for ["nats","url"], BERTH_GRPC_DRAIN_TIMEOUT_MS for ["grpc","drainTimeoutMs"]. */
export const envName = (path: string[]) => `BERTH_${path.map(snake).join('_')}`;
/** --nats.url / --grpc.drain-timeout-ms */
export const flagName = (path: string[]) => `--${path.map(kebab).join('.')}`;

function coerce(leaf: Leaf, raw: string): unknown {
  switch (leaf.kind) {
    case 'number': {
      const n = raw.startsWith('0o') ? parseInt(raw.slice(2), 8) : Number(raw);
      return raw.trim() === '' || Number.isNaN(n) ? raw : n;
    }
    case 'boolean':
      return ['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())
        ? true
        : ['0', 'false', 'no', 'off'].includes(raw.toLowerCase())
          ? false
          : raw;
    case 'array':
      return raw === '' ? [] : raw.split(',').map((s) => s.trim());
    case 'record':
      return Object.fromEntries(
        raw
          .split(',')
          .filter(Boolean)
          .map((kv) => {
            const i = kv.indexOf('=');
            return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
          }),
      );
    default:
      return raw;
  }
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

function deepMerge(a: unknown, b: unknown): unknown {
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return b;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return b;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = deepMerge(out[k], v);
  return out;
}

export interface LoadConfigOptions {
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** Parses --a.b=v / --a.b v flags against the known leaves; unknown flags are errors. */
function parseFlags(argv: readonly string[], leaves: Leaf[], problems: string[]) {
  const byFlag = new Map(leaves.map((l) => [flagName(l.path), l]));
  const out: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument "${arg}"`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) {
      problems.push(`${name}: missing value`);
      continue;
    }
    if (name === '--config') {
      configFile = value;
      continue;
    }
    const leaf = byFlag.get(name);
    if (!leaf) {
      problems.push(`unknown flag ${name}`);
      continue;
    }
    setPath(out, leaf.path, coerce(leaf, value));
    origins.set(leaf.path.join('.'), `flag ${name}`);
  }
  return { values: out, origins, configFile };
}

/**
 * Loads a service's config: schema defaults < JSON file (--config or
 * BERTH_CONFIG) < BERTH_* env < --flags. Every invalid field is reported with
 * where its value came from, all at once.
 */
export function loadConfig<S extends z.ZodTypeAny>(service: string, schema: S, opts: LoadConfigOptions = {}): z.infer<S> {
  const env = opts.env ?? process.env;
  const leaves = configLeaves(schema);
  const problems: string[] = [];
  const flags = parseFlags(opts.argv ?? process.argv.slice(2), leaves, problems);
  const origins = new Map<string, string>();

  let fileValues: unknown = {};
  const configFile = flags.configFile ?? env['BERTH_CONFIG'];
  if (configFile) {
    try {
      fileValues = JSON.parse(readFileSync(configFile, 'utf8'));
      for (const l of leaves) origins.set(l.path.join('.'), `file ${configFile}`);
    } catch (err) {
      problems.push(`config file ${configFile}: ${(err as Error).message}`);
    }
  }
  const envValues: Record<string, unknown> = {};
  for (const leaf of leaves) {
    const name = envName(leaf.path);
    const raw = env[name];
    if (raw !== undefined) {
      setPath(envValues, leaf.path, coerce(leaf, raw));
      origins.set(leaf.path.join('.'), `env ${name}`);
    }
  }
  for (const [k, v] of flags.origins) origins.set(k, v);

  // Validated even when a flag or the file was bad already: every problem is reported at once.
  const merged = deepMerge(deepMerge(fileValues, envValues), flags.values);
  const parsed = schema.safeParse(merged);
  if (parsed.success && problems.length === 0) return parsed.data;
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    const key = issue.path.join('.');
    const from = origins.get(key);
    problems.push(`${key || '(root)'}: ${issue.message}${from ? ` (from ${from})` : ''}`);
  }
  throw new ConfigError(service, problems);
}

/** Where a service keeps its state and its socket. */
export function servicePaths(service: string, cfg: BaseConfig) {
  return {
    stateDir: join(cfg.root, service),
    socket: cfg.grpc.socket ?? join(cfg.runtimeDir, `${service}.sock`),
    stateFile: join(cfg.runtimeDir, `${service}.json`),
  };
}

/** The gRPC address of a peer service, from config or the runtime-dir default. */
export function peerAddress(peer: string, cfg: BaseConfig): string {
  return cfg.peers[peer] ?? `unix:${join(cfg.runtimeDir, `${peer}.sock`)}`;
}

export type { Origin };
