// Image records: per-namespace names pointing at a target descriptor (an
// index or a manifest), with labels and times, in SQLite.
import { parseDescriptor, parseReference, type Descriptor } from '@berth/oci';
import type { Store } from './db.js';
import { parseLabels } from './db.js';
import { ImagesError, alreadyExists, invalidArgument, messageOf, notFound, statusCodeOf } from './errors.js';
import { emit, type EventSink } from './events.js';
import { labelField, parseFilters } from './filters.js';
import { applyLabels, validateLabels, type Labels } from './labels.js';

export interface ImageRecord {
  namespace: string;
  name: string;
  target: Descriptor;
  labels: Labels;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewImage {
  name: string;
  target: Descriptor;
  labels?: Labels;
}

export interface ImageUpdate {
  target?: Descriptor;
  labels?: Labels;
  /** Replace all labels instead of merging (merge: an empty value removes a key). */
  replaceLabels?: boolean;
}

interface ImageRow {
  namespace: string;
  name: string;
  target: string;
  labels: string;
  created_at: number;
  updated_at: number;
}

const NAMESPACE = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,75}[A-Za-z0-9])?$/;

export function validateNamespace(namespace: string): string {
  if (!NAMESPACE.test(namespace)) {
    throw invalidArgument(
      `invalid namespace ${JSON.stringify(namespace)}: 1-77 letters, digits, ".", "_" or "-", starting and ending with a letter or digit`,
    );
  }
  return namespace;
}

export function validateImageName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw invalidArgument('image name must not be empty');
  if (name.length > 512) throw invalidArgument(`image name is ${name.length} characters, over the limit of 512`);
  if (/[\s\p{Cc}]/u.test(name)) throw invalidArgument(`image name ${JSON.stringify(name)} contains whitespace or control characters`);
  return name;
}

/** The canonical record name for a user's reference: "busybox" -> "docker.io/library/busybox:latest". */
export function normalizeImageName(input: string): string {
  try {
    return parseReference(input).string();
  } catch (err) {
    throw new ImagesError(statusCodeOf(err), messageOf(err), { cause: err });
  }
}

function validateTarget(target: Descriptor, name: string): Descriptor {
  try {
    return parseDescriptor(target, `image ${name}: target`);
  } catch (err) {
    throw invalidArgument(messageOf(err), err);
  }
}

function rowToRecord(r: ImageRow): ImageRecord {
  return {
    namespace: r.namespace,
    name: r.name,
    target: JSON.parse(r.target) as Descriptor,
    labels: parseLabels(r.labels, `image ${r.name}`),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

export class ImageStore {
  constructor(
    private readonly db: Store,
    private readonly events?: EventSink,
  ) {}

  /** Creates a record; ALREADY_EXISTS unless `update`, which then replaces target and labels. */
  create(namespace: string, image: NewImage, opts: { update?: boolean } = {}): ImageRecord {
    validateNamespace(namespace);
    validateImageName(image.name);
    const target = validateTarget(image.target, image.name);
    const labels = validateLabels(image.labels ?? {}, `image ${image.name}`);
    const now = Date.now();
    let updated = false;
    const record = this.db.transaction(() => {
      const existing = this.find(namespace, image.name);
      if (existing) {
        if (!opts.update) throw alreadyExists(`image ${image.name} already exists in namespace ${namespace}`);
        this.db
          .prepare('UPDATE images SET target = ?, labels = ?, updated_at = ? WHERE namespace = ? AND name = ?')
          .run(JSON.stringify(target), JSON.stringify(labels), now, namespace, image.name);
        updated = true;
      } else {
        this.db
          .prepare('INSERT INTO images (namespace, name, target, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(namespace, image.name, JSON.stringify(target), JSON.stringify(labels), now, now);
      }
      return this.get(namespace, image.name);
    })();
    emit(this.events, {
      type: updated ? 'images.updated' : 'images.created',
      namespace,
      payload: { name: record.name, target: record.target, labels: record.labels },
    });
    return record;
  }

  get(namespace: string, name: string): ImageRecord {
    const record = this.find(namespace, name);
    if (!record) throw notFound(`image ${name} not found in namespace ${namespace}`);
    return record;
  }

  /**
   * Records in a namespace matching containerd-style filters over `name`,
   * `target.digest`, `target.mediatype` and `labels.<key>`.
   */
  list(namespace: string, filters: readonly string[] = []): ImageRecord[] {
    validateNamespace(namespace);
    const filter = parseFilters(filters);
    const rows = this.db.prepare('SELECT * FROM images WHERE namespace = ? ORDER BY name').all(namespace) as ImageRow[];
    return rows.map(rowToRecord).filter((img) =>
      filter.matches((path) => {
        if (path[0] === 'labels') return labelField(img.labels, path);
        const key = path.join('.');
        if (key === 'name') return img.name;
        if (key === 'target.digest') return img.target.digest;
        if (key === 'target.mediatype' || key === 'target.mediaType') return img.target.mediaType;
        return undefined;
      }),
    );
  }

  /** Changes target and/or labels of an existing record. */
  update(namespace: string, name: string, change: ImageUpdate): ImageRecord {
    const target = change.target ? validateTarget(change.target, name) : undefined;
    if (change.labels) validateLabels(change.labels, `image ${name}`);
    const record = this.db.transaction(() => {
      const current = this.get(namespace, name);
      const labels = change.labels ? applyLabels(current.labels, change.labels, change.replaceLabels === true) : current.labels;
      this.db
        .prepare('UPDATE images SET target = ?, labels = ?, updated_at = ? WHERE namespace = ? AND name = ?')
        .run(JSON.stringify(target ?? current.target), JSON.stringify(labels), Date.now(), namespace, name);
      return this.get(namespace, name);
    })();
    emit(this.events, { type: 'images.updated', namespace, payload: { name, target: record.target, labels: record.labels } });
    return record;
  }

  /** Deletes a record (its content becomes collectable by the GC); returns what was deleted. */
  delete(namespace: string, name: string): ImageRecord {
    const record = this.db.transaction(() => {
      const current = this.get(namespace, name);
      this.db.prepare('DELETE FROM images WHERE namespace = ? AND name = ?').run(namespace, name);
      return current;
    })();
    emit(this.events, { type: 'images.deleted', namespace, payload: { name, target: record.target } });
    return record;
  }

  /** A new name for the same target (and labels). ALREADY_EXISTS unless `force`. */
  tag(namespace: string, source: string, newName: string, opts: { force?: boolean } = {}): ImageRecord {
    const src = this.get(namespace, source);
    return this.create(namespace, { name: newName, target: src.target, labels: src.labels }, { update: opts.force === true });
  }

  /** Every record's target across all namespaces (GC roots). */
  allTargets(): Descriptor[] {
    return (this.db.prepare('SELECT target FROM images').all() as { target: string }[]).map(
      (r) => JSON.parse(r.target) as Descriptor,
    );
  }

  /** The record, or undefined when there is none. */
  find(namespace: string, name: string): ImageRecord | undefined {
    const row = this.db.prepare('SELECT * FROM images WHERE namespace = ? AND name = ?').get(namespace, name) as
      | ImageRow
      | undefined;
    return row ? rowToRecord(row) : undefined;
  }
}
