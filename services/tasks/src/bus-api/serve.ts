// The container and volume operations as NATS request/reply, so an orchestrator can
// drive a node over the bus alone: berth.node.<node>.rpc.<verb>, e.g.
// containers.run (this node's) and berth.rpc.tasks.<verb> (served in
// the "tasks" queue group). Requests and replies are JSON; messages use the
// proto JSON form of the API's types. See ../../README.md for the payloads.
import { status } from '@grpc/grpc-js';
import { DEFAULT_NAMESPACE, NAMESPACE_METADATA_KEY, tasks } from '@berth/api';
import { BusRequestError, nodeRpcSubject, serviceRpcSubject, type Bus, type Msg, type Unsubscribe } from '@berth/bus';
import type { TasksEngine } from '../engine.js';
import { errorMessage, grpcCode, invalidArgument } from '../errors.js';
import { containerMessage } from '../grpc/convert.js';
import { volumeMessage } from '../grpc/volumes-handlers.js';
import type { VolumeView } from '../volumes/api.js';
import { checkNamespace } from '../ids.js';
import type { ContainerRecord } from '../records.js';

type Json = Record<string, unknown>;
type Handler = (namespace: string, req: Json) => Promise<unknown>;

/** Verbs served, each as berth.node.<node>.rpc.<verb> and berth.rpc.tasks.<verb>. */
export const BUS_VERBS = [
  'containers.run',
  'containers.start',
  'containers.stop',
  'containers.kill',
  'containers.remove',
  'containers.list',
  'containers.get',
  'volumes.create',
  'volumes.get',
  'volumes.list',
  'volumes.remove',
  'volumes.prune',
] as const;
export type BusVerb = (typeof BUS_VERBS)[number];

function field<T>(req: Json, name: string, type: 'string' | 'number' | 'boolean', required: boolean): T | undefined {
  const value = req[name];
  if (value === undefined || value === null) {
    if (required) throw invalidArgument(`${name}: missing`);
    return undefined;
  }
  if (typeof value !== type) throw invalidArgument(`${name}: expected a ${type}, got ${JSON.stringify(value)}`);
  return value as T;
}
const str = (req: Json, name: string) => field<string>(req, name, 'string', false);
const requiredStr = (req: Json, name: string) => field<string>(req, name, 'string', true)!;
const num = (req: Json, name: string) => field<number>(req, name, 'number', false);
const bool = (req: Json, name: string) => field<boolean>(req, name, 'boolean', false) ?? false;

function strings(req: Json, name: string): string[] {
  const value = req[name] ?? [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalidArgument(`${name}: expected a list of strings`);
  return value as string[];
}

function labels(req: Json): Record<string, string> {
  const value = req['labels'] ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw invalidArgument('labels: expected an object of strings');
  }
  return value as Record<string, string>;
}

const volumeJson = (v: VolumeView) => tasks.Volume.toJSON(volumeMessage(v));

/** The gRPC status name of an error (e.g. "NOT_FOUND"), as the bus reply's code. */
export function busError(err: unknown): BusRequestError {
  const code = grpcCode(err);
  return new BusRequestError(code === undefined ? 'INTERNAL' : status[code], errorMessage(err), { cause: err });
}

function handlers(engine: TasksEngine): Record<BusVerb, Handler> {
  const view = (rec: ContainerRecord) => tasks.Container.toJSON(containerMessage(rec, engine.containers.stateOf(rec)));
  return {
    'containers.run': async (ns, req) => {
      const specJson = req.spec;
      if (typeof specJson !== 'object' || specJson === null) throw invalidArgument('spec: missing: say at least which image to run');
      const created = await engine.containers.create(ns, {
        id: str(req, 'id') ?? '',
        name: str(req, 'name') ?? '',
        spec: tasks.ContainerSpec.fromJSON(specJson),
      });
      try {
        await engine.tasks.startTask(ns, created.id, '');
      } catch (err) {
        if (created.spec.autoRemove) {
          await engine.containers.remove(ns, created.id, { force: true, keepLogs: false }).catch(() => undefined);
        }
        throw err;
      }
      return { container: view(engine.containers.get(ns, created.id)) };
    },
    'containers.start': async (ns, req) => ({ pid: await engine.tasks.startTask(ns, requiredStr(req, 'id'), '') }),
    'containers.stop': async (ns, req) => {
      const exit = await engine.tasks.stopTask(ns, {
        containerId: requiredStr(req, 'id'),
        timeoutSeconds: num(req, 'timeoutSeconds'),
        signal: str(req, 'signal') ?? '',
      });
      return tasks.StopTaskResponse.toJSON({ exitStatus: exit });
    },
    'containers.kill': async (ns, req) => {
      await engine.tasks.killTask(ns, {
        containerId: requiredStr(req, 'id'),
        execId: str(req, 'execId') ?? '',
        signal: str(req, 'signal') ?? '',
        all: bool(req, 'all'),
      });
      return {};
    },
    'containers.remove': async (ns, req) => ({
      container: view(await engine.containers.remove(ns, requiredStr(req, 'id'), { force: bool(req, 'force'), keepLogs: bool(req, 'keepLogs') })),
    }),
    'containers.list': async (ns, req) => ({ containers: engine.containers.list(ns, strings(req, 'filters')).map(view) }),
    'containers.get': async (ns, req) => ({ container: view(engine.containers.get(ns, requiredStr(req, 'id'))) }),
    'volumes.create': async (ns, req) => ({ volume: volumeJson(await engine.volumes.create(ns, str(req, 'name') ?? '', labels(req))) }),
    'volumes.get': async (ns, req) => ({ volume: volumeJson(await engine.volumes.get(ns, requiredStr(req, 'name'), bool(req, 'withSize'))) }),
    'volumes.list': async (ns, req) => ({
      volumes: (await engine.volumes.list(ns, strings(req, 'filters'), bool(req, 'withSize'))).map(volumeJson),
    }),
    'volumes.remove': async (ns, req) => ({ removed: engine.volumes.remove(ns, requiredStr(req, 'name'), bool(req, 'force')) }),
    'volumes.prune': async (ns, req) => tasks.PruneVolumesResponse.toJSON(await engine.volumes.prune(ns, bool(req, 'all'), strings(req, 'filters'))),
  };
}

/** The request's namespace: its "namespace" field, else the berth-namespace header, else "default". */
function namespaceOf(req: Json, msg: Msg): string {
  const given = str(req, 'namespace') ?? msg.headers?.get(NAMESPACE_METADATA_KEY) ?? '';
  return checkNamespace(given === '' ? DEFAULT_NAMESPACE : given);
}

/** Serves every verb for `node`; returns what stops serving. */
export function serveBusApi(bus: Pick<Bus, 'serve'>, engine: TasksEngine, node: string): Unsubscribe {
  const table = handlers(engine);
  const stops: Unsubscribe[] = [];
  for (const verb of BUS_VERBS) {
    const handler = async (payload: unknown, msg: Msg) => {
      try {
        const req = (payload ?? {}) as Json;
        if (typeof req !== 'object' || Array.isArray(req)) throw invalidArgument('the request must be a JSON object');
        return await table[verb](namespaceOf(req, msg), req);
      } catch (err) {
        throw busError(err);
      }
    };
    stops.push(bus.serve(nodeRpcSubject(node, verb), handler));
    stops.push(bus.serve(serviceRpcSubject('tasks', verb), handler));
  }
  return () => stops.forEach((stop) => stop());
}
