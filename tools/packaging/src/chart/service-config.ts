// What each service accepts as configuration: its zod config schema, found
// in its built package, and the BERTH_* environment names it maps to (the
// service kit's own rule: BERTH_ + the path in UPPER_SNAKE).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { baseConfigSchema, configLeaves, envName } from '@berth/service-kit';
import type { z } from 'zod';
import { servicePackage } from '../workspace.js';

export type LeafKind = ReturnType<typeof configLeaves>[number]['kind'];

const BASE_KEYS = Object.keys(baseConfigSchema.shape);

/** A zod object schema that has every key of the base config: a service's config schema. */
function isServiceConfigSchema(v: unknown): v is z.AnyZodObject {
  const def = (v as { _def?: { typeName?: string } } | null)?._def;
  if (def?.typeName !== 'ZodObject') return false;
  const shape = (v as z.AnyZodObject).shape as Record<string, unknown>;
  return BASE_KEYS.every((k) => k in shape);
}

/** Config schemas a module exports, directly or as a ServiceSpec's configSchema. */
function schemasIn(mod: Record<string, unknown>): Set<z.AnyZodObject> {
  const found = new Set<z.AnyZodObject>();
  for (const value of Object.values(mod)) {
    if (isServiceConfigSchema(value)) found.add(value);
    const spec = (value as { configSchema?: unknown } | null)?.configSchema;
    if (isServiceConfigSchema(spec)) found.add(spec);
  }
  return found;
}

/**
 * The config schema of services/<service>, from its built package: the
 * package entry's exports, else dist/config.js or dist/service.js. Throws
 * when none or several distinct schemas are found, or the service is not built.
 */
export async function serviceConfigSchema(repoRoot: string, service: string): Promise<z.AnyZodObject> {
  const pkg = servicePackage(repoRoot, service);
  const dir = join(repoRoot, pkg.dir);
  const candidates = [pkg.manifest.main ?? 'dist/index.js', 'dist/config.js', 'dist/service.js'].map((f) => join(dir, f));
  if (!existsSync(candidates[0]!)) throw new Error(`${pkg.name} is not built (${candidates[0]} is missing)`);
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const found = schemasIn((await import(pathToFileURL(file).href)) as Record<string, unknown>);
    if (found.size === 1) return [...found][0]!;
    if (found.size > 1) throw new Error(`${file} exports ${found.size} different service config schemas`);
  }
  throw new Error(`no config schema (a zod object extending baseConfigSchema) is exported by ${candidates.filter(existsSync).join(', ')}`);
}

export interface ConfigKeys {
  /** BERTH_* name -> leaf kind, for the settings every service shares. */
  base: Map<string, LeafKind>;
  /** BERTH_* name -> leaf kind, for the service's own settings a BERTH_* variable can carry. */
  own: Map<string, LeafKind>;
  /**
   * BERTH_* name -> leaf kind, for the service's own settings only its JSON
   * config file (BERTH_CONFIG) can carry: lists and maps whose items are not
   * strings (the kit reads a list from env as comma-separated strings, a map
   * as k=v string pairs).
   */
  fileOnly: Map<string, LeafKind>;
}

/** The variable naming a service's JSON config file (the service kit reads it besides the leaves' BERTH_* names). */
export const CONFIG_FILE_ENV = 'BERTH_CONFIG';

type ZodLike = { _def: { typeName?: string; innerType?: ZodLike; schema?: ZodLike; options?: ZodLike[]; valueType?: ZodLike; type?: ZodLike; value?: unknown } };

/** Under defaults, optionals and effects (by type name: the service's zod may be another copy than this package's). */
function unwrap(t: ZodLike): ZodLike {
  for (;;) {
    const d = t._def;
    if ((d.typeName === 'ZodDefault' || d.typeName === 'ZodOptional' || d.typeName === 'ZodNullable') && d.innerType) t = d.innerType;
    else if (d.typeName === 'ZodEffects' && d.schema) t = d.schema;
    else return t;
  }
}

/** Whether a value of this schema may be a string, as every item the kit reads from env is. */
function acceptsString(t: ZodLike): boolean {
  const u = unwrap(t);
  const name = u._def.typeName;
  if (name === 'ZodString' || name === 'ZodEnum' || name === 'ZodNativeEnum' || name === 'ZodAny' || name === 'ZodUnknown') return true;
  if (name === 'ZodLiteral') return typeof u._def.value === 'string';
  if (name === 'ZodUnion') return (u._def.options ?? []).some(acceptsString);
  return false;
}

/** The schema of the leaf at `path` of an object schema. */
function leafAt(schema: ZodLike, path: string[]): ZodLike {
  let t = schema;
  for (const key of path) t = ((unwrap(t) as unknown as z.AnyZodObject).shape as Record<string, ZodLike>)[key]!;
  return t;
}

/** Whether a BERTH_* variable can carry this leaf: lists and maps only when their items may be strings. */
function envSettable(schema: ZodLike, leaf: { path: string[]; kind: LeafKind }): boolean {
  if (leaf.kind !== 'array' && leaf.kind !== 'record') return true;
  const t = unwrap(leafAt(schema, leaf.path));
  const item = leaf.kind === 'array' ? t._def.type : t._def.valueType;
  return item !== undefined && acceptsString(item);
}

/** The env names of a config schema: the shared ones, the service's own, and its own that only a config file can carry. Pure. */
export function configKeys(schema: z.ZodTypeAny): ConfigKeys {
  const base = new Map(configLeaves(baseConfigSchema).map((l) => [envName(l.path), l.kind] as const));
  const own = new Map<string, LeafKind>();
  const fileOnly = new Map<string, LeafKind>();
  for (const leaf of configLeaves(schema)) {
    const name = envName(leaf.path);
    if (base.has(name)) continue;
    (envSettable(schema as unknown as ZodLike, leaf) ? own : fileOnly).set(name, leaf.kind);
  }
  return { base, own, fileOnly };
}

/** The JSON type a values.yaml entry for a leaf of this kind has (lists for arrays, maps for records). Pure. */
export function jsonTypeOfLeaf(kind: LeafKind): string {
  return kind === 'record' ? 'object' : kind;
}
