// Which namespace a container's events belong to. The tasks service puts it
// in the runtime spec as the annotation org.berth.namespace; a spec without
// it takes the CreateTask call's berth-namespace metadata, written into the
// annotation so it survives restarts; failing both, the agent's default.
// The book is a cache of what the bundles say, refilled at start.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertNamespace } from '@berth/bus';
import { ContainerError } from '../errors.js';
import type { OciSpec as RuntimeSpec } from '@berth/runtime-spec';

export const NAMESPACE_ANNOTATION = 'org.berth.namespace';

/**
 * The spec with its namespace annotation settled (from the annotation, else
 * `fallback`); INVALID_ARGUMENT when it cannot be a NATS subject token.
 */
export function withNamespace(spec: RuntimeSpec, fallback: string): { spec: RuntimeSpec; namespace: string } {
  const given = spec.annotations?.[NAMESPACE_ANNOTATION];
  const namespace = given ?? fallback;
  try {
    assertNamespace(namespace);
  } catch (err) {
    throw new ContainerError('INVALID_ARGUMENT', `annotation ${NAMESPACE_ANNOTATION}: ${(err as Error).message}`);
  }
  if (given !== undefined) return { spec, namespace };
  return { spec: { ...spec, annotations: { ...spec.annotations, [NAMESPACE_ANNOTATION]: namespace } }, namespace };
}

export class NamespaceBook {
  private readonly byId = new Map<string, string>();

  constructor(readonly defaultNamespace: string) {}

  remember(id: string, namespace: string): void {
    this.byId.set(id, namespace);
  }

  known(id: string): boolean {
    return this.byId.has(id);
  }

  forget(id: string): void {
    this.byId.delete(id);
  }

  /** Reads the namespace from the bundle's config.json (and remembers it). */
  async load(id: string, bundle: string): Promise<string> {
    let namespace = this.defaultNamespace;
    try {
      const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as RuntimeSpec;
      const given = spec.annotations?.[NAMESPACE_ANNOTATION];
      if (given !== undefined) {
        assertNamespace(given);
        namespace = given;
      }
    } catch {
      // No readable bundle (deleted, or never written): the default it is.
    }
    this.byId.set(id, namespace);
    return namespace;
  }

  /** The namespace of `id`: remembered, else read from `bundle` when given, else the default. */
  async of(id: string, bundle?: string): Promise<string> {
    const known = this.byId.get(id);
    if (known !== undefined) return known;
    return bundle !== undefined ? this.load(id, bundle) : this.defaultNamespace;
  }
}
