// ListVolumes and PruneVolumes filters (proto/README.md): "key=value"; same
// key = any matches, different keys = all match. Unknown keys are INVALID_ARGUMENT.
import { invalidArgument } from '../errors.js';
import { matchesLabel, parseFilterList } from '../filters.js';

/** A volume as the filters see it. */
export interface FilterableVolume {
  name: string;
  labels: Record<string, string>;
  /** Used by no container. */
  dangling: boolean;
}

export type VolumeFilterKey = 'name' | 'label' | 'dangling';
export type ParsedVolumeFilters = Map<VolumeFilterKey, string[]>;

/** Parses and checks filter strings against the keys a request takes. */
export function parseVolumeFilters(filters: readonly string[], keys: readonly VolumeFilterKey[]): ParsedVolumeFilters {
  const parsed = parseFilterList(filters, keys);
  for (const value of parsed.get('dangling') ?? []) {
    if (!['true', 'false', '1', '0'].includes(value)) {
      throw invalidArgument(`invalid filter ${JSON.stringify(`dangling=${value}`)}: dangling must be true or false`);
    }
  }
  return parsed;
}

/** True when the volume passes every filter. */
export function matchesVolumeFilters(volume: FilterableVolume, filters: ParsedVolumeFilters): boolean {
  for (const [key, values] of filters) {
    const any = values.some((v) => {
      switch (key) {
        case 'name':
          return volume.name.includes(v);
        case 'label':
          return matchesLabel(volume.labels, v);
        case 'dangling':
          return volume.dangling === (v === 'true' || v === '1');
      }
    });
    if (!any) return false;
  }
  return true;
}
