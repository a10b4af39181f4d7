// The helm chart, checked as far as it can be without helm: its files parse,
// values.yaml satisfies values.schema.json, every service under services/ is
// in the chart (image, metrics port, config keys from the service's own
// config schema) and in the Dockerfile, and the templates read only values
// that exist and set only BERTH_* variables the services know.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkTemplates,
  CONFIG_FILE_ENV,
  configKeys,
  DRAFT_07,
  execForm,
  findRepoRoot,
  jsonTypeOfLeaf,
  lastInstruction,
  literalBerthEnvNames,
  loadChart,
  readDockerfile,
  readManifest,
  schemaAt,
  serviceConfigSchema,
  serviceNames,
  servicePackage,
  binEntry,
  unresolvedReferences,
  validateJson,
  valuesReferences,
  type ChartFiles,
  type ConfigKeys,
  type DockerfileStage,
} from '../src/index.js';

const repoRoot = findRepoRoot();
const services = serviceNames(repoRoot);
let chart: ChartFiles;
let stages: DockerfileStage[];
const keys = new Map<string, ConfigKeys>();

type Values = {
  services: Record<string, { image: { repository: string }; metricsPort: number; config: Record<string, unknown>; configFile: Record<string, unknown> }>;
};

beforeAll(async () => {
  chart = loadChart(join(repoRoot, 'deploy/helm/berth'));
  stages = readDockerfile(join(repoRoot, 'deploy/docker/Dockerfile'));
  for (const s of services) keys.set(s, configKeys(await serviceConfigSchema(repoRoot, s)));
});

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('chart files', () => {
  it('Chart.yaml is a v2 application chart whose appVersion is the version of every service package', () => {
    expect(chart.chart).toMatchObject({ apiVersion: 'v2', name: 'berth', type: 'application' });
    expect(String(chart.chart['version'])).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
    const appVersion = String(chart.chart['appVersion']);
    expect(appVersion).toBe(readManifest(repoRoot).version);
    for (const s of services) expect(servicePackage(repoRoot, s).version, s).toBe(appVersion);
  });

  it('values.yaml validates against values.schema.json, a draft-07 schema (what every Helm 3 reads)', () => {
    expect((chart.schema as Record<string, unknown>)['$schema']).toBe(DRAFT_07);
    expect(validateJson(chart.values, chart.schema)).toEqual([]);
  });

  it('the schema refuses bad values, naming where and why', () => {
    const bad = clone(chart.values) as Values & Record<string, unknown>;
    (bad.services['images'] as Record<string, unknown>)['metricsPort'] = '9402';
    bad.services['images']!.config['BERTH_IMAGES_PULL_CONCURENCY'] = 3;
    bad.services['snapshots']!.config['BERTH_DRIVER'] = 'zfs';
    delete (bad.services as Record<string, unknown>)['tasks'];
    bad['imagePullSecret'] = [];
    const problems = validateJson(bad, chart.schema).map((p) => `${p.path} ${p.message}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        '/services/images/metricsPort must be integer, is string "9402"',
        '/services/images/config/BERTH_IMAGES_PULL_CONCURENCY is not a known key',
        '/services/snapshots/config/BERTH_DRIVER must be one of "overlayfs", "native", is "zfs"',
        '/services/tasks is required',
        '/imagePullSecret is not a known key',
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('every .Values reference in the templates exists in values.yaml', () => {
    const refs = valuesReferences(chart.templates);
    expect(refs.length).toBeGreaterThan(40);
    expect(unresolvedReferences(refs, chart.values).map((r) => `${r.file}: .Values.${r.path.join('.')}`)).toEqual([]);
    // and the check does catch one that is not there
    expect(unresolvedReferences([{ file: 'x.yaml', line: 1, path: ['nats', 'jetstream', 'maxStreams'] }], chart.values)).toHaveLength(1);
  });

  it('the templates pass the syntax check: blocks closed, else placed, helpers defined, functions and values known', () => {
    expect(chart.templates.size).toBeGreaterThanOrEqual(6);
    expect(checkTemplates(chart.templates, { values: chart.values }).map((p) => `${p.file}:${p.line}: ${p.message}`)).toEqual([]);
  });

  it('the syntax check fails on the chart with an end dropped, a helper misnamed or a value misspelt', () => {
    const broken = new Map(chart.templates);
    const daemonset = broken.get('daemonset.yaml')!;
    const lastEnd = daemonset.lastIndexOf('{{- end }}');
    broken.set('daemonset.yaml', daemonset.slice(0, lastEnd) + daemonset.slice(lastEnd + '{{- end }}'.length));
    broken.set('nats.yaml', broken.get('nats.yaml')!.replace('include "berth.natsSelectorLabels"', 'include "berth.natSelectorLabels"'));
    broken.set('metrics.yaml', broken.get('metrics.yaml')!.replace('.Values.metrics.serviceMonitor.interval', '.Values.metrics.serviceMonitor.intervall'));
    const problems = checkTemplates(broken, { values: chart.values }).map((p) => `${p.file}: ${p.message}`);
    expect(problems).toEqual([
      'daemonset.yaml: {{if}} has no matching {{end}}',
      'metrics.yaml: .Values.metrics.serviceMonitor.intervall is not in values.yaml',
      'nats.yaml: include "berth.natSelectorLabels": no template of that name is defined in the chart',
    ]);
  });

  it('the templates set only BERTH_* variables that every service accepts', () => {
    const names = literalBerthEnvNames(chart.templates);
    expect([...names].sort()).toEqual(
      expect.arrayContaining(['BERTH_NATS_URL', 'BERTH_NODE', 'BERTH_METRICS_PORT', 'BERTH_METRICS_HOST', 'BERTH_LOG_LEVEL']),
    );
    for (const s of services) {
      const k = keys.get(s)!;
      for (const n of names) expect(k.base.has(n) || k.own.has(n) || n === CONFIG_FILE_ENV, `${n} is not a setting of ${s}`).toBe(true);
    }
  });

  it('NOTES.txt exists', () => {
    expect(chart.templates.get('NOTES.txt')).toMatch(/berth/);
  });
});

describe.each(services)('service %s', (service) => {
  const values = () => (chart.values as unknown as Values).services[service];

  it('is in values.yaml and the schema, with its image and a metrics port of its own', () => {
    const v = values();
    expect(v, `services.${service} is missing from values.yaml`).toBeDefined();
    expect(v!.image.repository).toBe(`berth/${service}`);
    const ports = Object.entries((chart.values as unknown as Values).services).map(([, s]) => s.metricsPort);
    expect(ports.filter((p) => p === v!.metricsPort)).toHaveLength(1);
    // Kubernetes port names are at most 15 characters: the templates use m-<service>.
    expect(`m-${service}`.length).toBeLessThanOrEqual(15);
    const servicesSchema = schemaAt(chart.schema, ['services']) as { required?: string[] };
    expect(servicesSchema.required).toContain(service);
  });

  it("lists exactly the service's own config keys in the schema, with matching types", () => {
    const own = keys.get(service)!.own;
    const config = schemaAt(chart.schema, ['services', service, 'config']) as { properties?: Record<string, { type?: string }> };
    const props = config.properties ?? {};
    expect(Object.keys(props).sort()).toEqual([...own.keys()].sort());
    for (const [name, kind] of own) {
      const t = props[name]?.type;
      const want = jsonTypeOfLeaf(kind);
      expect(t === want || (want === 'number' && t === 'integer'), `${name}: schema type ${t}, service kind ${kind}`).toBe(true);
    }
    for (const key of Object.keys(values()!.config)) expect(own.has(key), key).toBe(true);
  });

  it('takes the settings no BERTH_* variable can carry only as a config file in its own format', async () => {
    const { fileOnly, own } = keys.get(service)!;
    const configSchema = schemaAt(chart.schema, ['services', service, 'config']) as { properties?: Record<string, unknown> };
    for (const name of fileOnly.keys()) expect(configSchema.properties?.[name], `${name} in services.${service}.config`).toBeUndefined();
    for (const name of own.keys()) expect(fileOnly.has(name)).toBe(false);
    expect(schemaAt(chart.schema, ['services', service, 'configFile'])).toMatchObject({ type: 'object' });
    const zodSchema = await serviceConfigSchema(repoRoot, service);
    const parsed = zodSchema.safeParse(values()!.configFile);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });

  it('has a Dockerfile target that runs its bin, probes its health and names its user', () => {
    const stage = stages.find((s) => s.name === service);
    expect(stage, `deploy/docker/Dockerfile has no target "${service}"`).toBeDefined();
    const pkg = servicePackage(repoRoot, service);
    const entry = execForm(lastInstruction(stage!, 'ENTRYPOINT'));
    expect(entry).toContain(`/opt/berth/node_modules/${pkg.name}/${binEntry(pkg.manifest)}`);
    expect(execForm(lastInstruction(stage!, 'HEALTHCHECK'))).toEqual(['node', '/opt/berth/bin/berth-health.mjs', service]);
    expect(lastInstruction(stage!, 'USER')).toMatch(/^\d+:10001$/);
    expect(stage!.instructions.some((i) => i.op === 'COPY' && i.args === `--from=build /bundles/${service} /opt/berth`)).toBe(true);
    const labels = stage!.instructions.filter((i) => i.op === 'LABEL').map((i) => i.args).join(' ');
    for (const l of ['version', 'revision', 'source']) expect(labels).toContain(`org.opencontainers.image.${l}=`);
  });
});

describe('the Dockerfile', () => {
  it('has no target without a service, besides build and cli', () => {
    expect(stages.map((s) => s.name).sort()).toEqual(['build', 'cli', ...services].sort());
  });

  it('has a cli target that runs the CLI\'s bin itself, so its #! line applies', () => {
    const stage = stages.find((s) => s.name === 'cli')!;
    const cli = readManifest(join(repoRoot, 'packages/cli'));
    expect(execForm(lastInstruction(stage, 'ENTRYPOINT'))).toEqual([`/opt/berth/node_modules/@berth/cli/${binEntry(cli)}`]);
  });

  it('takes its base image as a build argument defaulting to the official Node LTS slim image', () => {
    const raw = readFileSync(join(repoRoot, 'deploy/docker/Dockerfile'), 'utf8');
    expect(raw).toMatch(/^ARG BASE_IMAGE=node:20-bookworm-slim$/m);
    for (const s of stages.filter((x) => x.name !== 'build')) expect(s.from, s.name).toMatch(/^\$\{[A-Z_]*BASE_IMAGE\}$/);
  });
});
