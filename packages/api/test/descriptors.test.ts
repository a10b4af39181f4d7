// The descriptor set covers the whole contract, imports included, and
// proto-loader turns it into definitions for every service.
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { descriptorSetPath, loadPackageDefinition, serviceNames, serviceNamesByComponent } from '../src/index.js';
import { protoDir } from './paths.js';

function protoFiles(): string[] {
  return readdirSync(protoDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.proto'))
    .map((entry) => relative(protoDir, join(entry.parentPath, entry.name)));
}

describe('descriptor set', () => {
  it('holds every proto file and the well-known types they import', () => {
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath()));
    const names = set.file.map((file) => file.name);
    expect(names).toEqual(expect.arrayContaining([...protoFiles(), 'google/protobuf/timestamp.proto', 'google/protobuf/field_mask.proto']));
  });

  it('loads into a package definition with all five service packages', () => {
    const definition = loadPackageDefinition();
    const services = Object.entries(definition)
      .filter(([, value]) => !('format' in value))
      .map(([name]) => name)
      .sort();
    expect(services).toEqual([...serviceNames].sort());
    for (const protoPackage of ['images', 'snapshots', 'tasks', 'networking', 'agent']) {
      expect(services.filter((name) => name.startsWith(`berth.${protoPackage}.v1.`)).length).toBeGreaterThan(0);
    }
    expect(serviceNamesByComponent.images).toEqual([
      'berth.images.v1.Content',
      'berth.images.v1.Images',
      'berth.images.v1.Transfer',
      'berth.images.v1.Leases',
    ]);
    expect(definition['berth.types.v1.Descriptor']).toMatchObject({ format: 'Protocol Buffer 3 DescriptorProto' });
    expect(definition['berth.events.v1.TaskExit']).toMatchObject({ format: 'Protocol Buffer 3 DescriptorProto' });
  });
});
