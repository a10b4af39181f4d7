// The JSON documents of the OCI image spec (and their Docker schema 2
// equivalents, which share the same shape), as returned by the parsers.
import type { Digest } from './digest.js';

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  /** Reserved by the spec; Docker manifest lists may carry it. */
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** Base64 of the embedded content; verified against digest and size when parsed. */
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

/** OCI image index or Docker manifest list. */
export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}
export type ImageIndex = Index;
export type ManifestList = Index;

/** OCI image manifest or Docker schema 2 manifest. */
export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The runtime defaults an image carries (image config "config" object). Docker's nulls are dropped. */
export interface ImageRuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
}

export interface History {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface RootFs {
  type: 'layers';
  /** Digests of the uncompressed layer tars, bottom first. */
  diff_ids: Digest[];
}

/** OCI image config or Docker container image config (known fields only). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ImageRuntimeConfig;
  rootfs: RootFs;
  history?: History[];
}

/** What parseManifestOrIndex found. `mediaType` is the document's own, else the hint's, else the OCI one. */
export type ManifestOrIndex =
  | { kind: 'index'; mediaType: string; index: Index }
  | { kind: 'manifest'; mediaType: string; manifest: Manifest };
