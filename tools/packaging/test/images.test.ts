// The services packaged and run one by one, as an operator would: a private
// Docker engine (Debian's dockerd, own data root and socket), every image
// built offline from deploy/docker/Dockerfile on base images made from this
// host, then NATS, a registry and each berth service started from its own
// image on a private network with testcontainers, and driven through gRPC on
// the sockets they share with the host: health, pull from the registry,
// list images, prepare a snapshot of the image, node info and heartbeats.
//
// Sockets and state are host directories bind-mounted into every service
// container at /run/berth and /var/lib/berth, as the chart's DaemonSet
// shares them between the containers of a node's pod.
import { chmodSync, chownSync, cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenericContainer, Network, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { agent, images, networking, snapshots, tasks } from '@berth/api';
import { chainId } from '@berth/oci';
import { checkHealth, createClient } from '@berth/service-kit';
import { busyboxImage, pushImage, removeTree, requireBinary, startRegistry, uniqueName, type BuiltImage } from '@berth/testkit';
import {
  buildOfflineImages,
  DockerCli,
  findRepoRoot,
  loadChart,
  serviceNames,
  startDockerEngine,
  type DockerEngine,
  type OfflineBuild,
} from '../src/index.js';
import { missingFromBoundingSet } from './support/capabilities.js';
import { collect, eventually, unary } from './support/grpc.js';

const repoRoot = findRepoRoot();
const services = serviceNames(repoRoot);
const BERTH_GID = 10001;
const node = uniqueName('pkgnode', 20);
// Containers find each other by name on the private network. (Not by network
// alias: testcontainers creates an aliased container on the default network
// first, which this engine does not have, and it then lacks the embedded DNS.)
const natsName = uniqueName('berth-nats', 24);
const registryName = uniqueName('berth-registry', 24);
const registryHost = `${registryName}:5000`;
const imageRef = `${registryHost}/library/busybox:latest`;

let engine: DockerEngine | undefined;
let docker: DockerCli;
let built: OfflineBuild | undefined;
let network: StartedNetwork | undefined;
const started = new Map<string, StartedTestContainer>();
let work: string | undefined;
let runDir: string;
let stateDir: string;
let busybox: BuiltImage;
/** Images a test makes besides the built ones, removed in afterAll. */
const testImages: string[] = [];

const socket = (service: string) => `unix:${join(runDir, `${service}.sock`)}`;

/** What each service needs beyond an ordinary container (README: "Privileges"). */
function withPrivileges(service: string, c: GenericContainer): GenericContainer {
  if (service === 'snapshots') return c.withAddedCapabilities('SYS_ADMIN'); // overlay mounts, trusted.* xattrs
  if (service === 'agent') {
    // The chart runs the agent privileged. --privileged asks the engine for
    // every capability; where this machine's own bounding set lacks some,
    // the agent gets all the others and no seccomp filter, the same in effect.
    const missing = missingFromBoundingSet();
    return missing.length === 0
      ? c.withPrivilegedMode()
      : c.withAddedCapabilities('ALL').withDroppedCapabilities(...missing).withSecurityOpt('seccomp=unconfined', 'apparmor=unconfined');
  }
  return c;
}

type Mount = { source: string; target: string; mode: 'ro' | 'rw' };

/** A host binary run in the offline base image, bind-mounted read-only (with `mounts` besides: withBindMounts replaces). */
function hostBinaryContainer(binary: string, target: string, mounts: Mount[] = []): GenericContainer {
  return new GenericContainer(`berth/node-base:${process.versions.node.split('.')[0]}`).withBindMounts([
    { source: binary, target, mode: 'ro' },
    ...mounts,
  ]);
}

beforeAll(async () => {
  const natsServer = requireBinary('nats-server', 'apt-get install nats-server');
  const dockerRegistry = requireBinary('docker-registry', 'apt-get install docker-registry');
  engine = await startDockerEngine();
  // testcontainers talks to our engine; its reaper (ryuk) image cannot be pulled here, and afterAll cleans up.
  // The engine has no default "bridge" network to find a gateway on; no port is ever published, so the
  // host it would report for mapped ports does not matter.
  process.env['DOCKER_HOST'] = engine.host;
  process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
  process.env['TESTCONTAINERS_HOST_OVERRIDE'] = '127.0.0.1';
  docker = new DockerCli(engine.host);

  work = mkdtempSync('/tmp/berth-pkg-');
  runDir = join(work, 'run');
  stateDir = join(work, 'state');
  for (const dir of [runDir, stateDir]) {
    mkdirSync(dir);
    chownSync(dir, 0, BERTH_GID);
    chmodSync(dir, 0o2775);
  }
  chmodSync(work, 0o755);

  // The registry's content: the test kit's busybox image pushed to a registry
  // on 127.0.0.1, whose storage the registry container then serves.
  busybox = await busyboxImage();
  const reg = await startRegistry({ auth: 'none' });
  try {
    await pushImage(busybox.layoutDir, 'library/busybox:latest', { registry: reg });
    cpSync(reg.dataDir, join(work, 'registry'), { recursive: true });
  } finally {
    await reg.stop();
  }
  writeFileSync(
    join(work, 'registry.yml'),
    JSON.stringify({ version: 0.1, storage: { filesystem: { rootdirectory: '/var/lib/registry' } }, http: { addr: '0.0.0.0:5000' } }),
  );

  built = await buildOfflineImages(docker, { repoRoot });

  network = await new Network().start();
  started.set(
    'nats',
    await hostBinaryContainer(natsServer, '/usr/local/bin/nats-server')
      .withNetwork(network)
      .withName(natsName)
      .withCommand(['nats-server', '--jetstream', '--store_dir', '/tmp/jetstream', '--port', '4222'])
      .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
      .start(),
  );
  started.set(
    'registry',
    await hostBinaryContainer(dockerRegistry, '/usr/local/bin/docker-registry', [
      { source: join(work, 'registry'), target: '/var/lib/registry', mode: 'rw' },
      { source: join(work, 'registry.yml'), target: '/etc/registry.yml', mode: 'ro' },
    ])
      .withNetwork(network)
      .withName(registryName)
      .withCommand(['docker-registry', 'serve', '/etc/registry.yml'])
      .withWaitStrategy(Wait.forLogMessage(/listening on/))
      .start(),
  );

  const env: Record<string, string> = {
    BERTH_NODE: node,
    BERTH_NATS_URL: `nats://${natsName}:4222`,
    BERTH_LOG_LEVEL: 'info',
    BERTH_HEARTBEAT_INTERVAL_MS: '1000', // agent: heartbeats the tasks service sees
    BERTH_IMAGES_INSECURE_REGISTRIES: registryHost, // images: the registry speaks plain HTTP
  };
  // Each service's output goes to a file, so a failed start says why.
  const logDir = join(work, 'logs');
  mkdirSync(logDir);
  const results = await Promise.allSettled(
    services.map(async (service) => {
      const image = built!.images[service];
      if (!image) throw new Error(`no image was built for service ${service}`);
      const name = uniqueName(`berth-${service}`, 30);
      const container = withPrivileges(service, new GenericContainer(image))
        .withName(name)
        .withNetwork(network!)
        .withEnvironment(env)
        .withBindMounts([
          { source: runDir, target: '/run/berth', mode: 'rw' },
          { source: stateDir, target: '/var/lib/berth', mode: 'rw' },
        ])
        .withLogConsumer((stream) => stream.pipe(createWriteStream(join(logDir, `${service}.log`))))
        .withWaitStrategy(Wait.forHealthCheck())
        .withStartupTimeout(180_000);
      try {
        started.set(service, await container.start());
      } catch (err) {
        const log = existsSync(join(logDir, `${service}.log`)) ? readFileSync(join(logDir, `${service}.log`), 'utf8') : '';
        // what the HEALTHCHECK runs said, when the container is still there to ask
        const probes = await docker.run(['inspect', '--format', '{{json .State.Health}}', name]).then(
          (r) => `health: ${r.stdout.toString().trim()}`,
          (e: unknown) => `health: not available (${(e as Error).message.split('\n')[0]})`,
        );
        throw new Error(`${service} did not become healthy: ${(err as Error).message}\n${probes}\n${log.split('\n').slice(-25).join('\n')}`);
      }
    }),
  );
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) throw new Error(failed.map((f) => (f.reason as Error).message).join('\n\n'));
}, 25 * 60_000);

afterAll(async () => {
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
    }
  };
  for (const [name, c] of [...started].reverse()) await attempt(`stopping ${name}`, () => c.stop({ remove: true, removeVolumes: true }));
  if (engine) {
    // and any container that was created but failed to start (testcontainers leaves those): the engine is ours alone
    await attempt('removing leftover containers', async () => {
      const ids = (await docker.run(['ps', '--all', '--quiet'])).stdout.toString().split('\n').filter(Boolean);
      if (ids.length > 0) await docker.run(['rm', '--force', '--volumes', ...ids]);
    });
  }
  if (network) await attempt('removing the network', () => network!.stop());
  if (engine && built) {
    await attempt('removing images', () => docker.removeImages([...Object.values(built!.images), ...built!.helpers, ...testImages]));
    await attempt('pruning build leftovers', () => docker.run(['image', 'prune', '--force']));
  }
  if (engine) await attempt('stopping dockerd', () => engine!.stop());
  if (work) await attempt('removing the work dir', () => removeTree(work!));
  if (problems.length > 0) throw new Error(`cleanup failed:\n  ${problems.join('\n  ')}`);
}, 5 * 60_000);

describe('berth images on a private Docker engine', () => {
  it('builds one image per service and one for the CLI, with OCI labels, a user and a health check', async () => {
    expect(Object.keys(built!.images).sort()).toEqual([...services, 'cli'].sort());
    for (const [target, ref] of Object.entries(built!.images)) {
      const info = await docker.inspectImage(ref);
      expect(info.Config.Labels, target).toMatchObject({
        'org.opencontainers.image.version': built!.version,
        'org.opencontainers.image.revision': built!.revision,
        'org.opencontainers.image.title': `berth-${target}`,
      });
      expect(info.Config.User, target).toBe(target === 'images' || target === 'cli' ? '10001:10001' : `0:${BERTH_GID}`);
      if (target === 'cli') expect(info.Config.Healthcheck?.Test, target).toEqual(['NONE']);
      else expect(info.Config.Healthcheck?.Test, target).toEqual(['CMD', 'node', '/opt/berth/bin/berth-health.mjs', target]);
    }
  });

  it('runs each service from its own image, healthy by the image HEALTHCHECK and over its socket', async () => {
    for (const service of services) {
      const c = started.get(service)!;
      const { stdout } = await docker.run(['inspect', '--format', '{{.Config.Image}} {{.State.Health.Status}}', c.getId()]);
      expect(stdout.toString().trim(), service).toBe(`${built!.images[service]} healthy`);
      expect(await checkHealth(socket(service)), service).toBe('SERVING');
    }
  });

  it('runs images as the non-root berth user and the others as root, all in group 10001', () => {
    for (const service of services) {
      const st = statSync(join(runDir, `${service}.sock`));
      expect(st.uid, service).toBe(service === 'images' ? 10001 : 0);
      expect(st.gid, service).toBe(BERTH_GID);
      expect(st.mode & 0o777, service).toBe(0o660);
    }
  });

  it('pulls from the registry through the images service, unpacking into the snapshots service', async () => {
    const transfer = createClient(images.TransferClient, socket('images'));
    try {
      const messages = await collect(
        transfer.pullImage(images.PullImageRequest.fromPartial({ reference: imageRef, unpack: true })),
      );
      expect(messages[0]?.event?.$case).toBe('resolved');
      const last = messages.at(-1)?.event;
      expect(last?.$case).toBe('image');
      if (last?.$case !== 'image') return;
      expect(last.value.name).toBe(imageRef);
      expect(last.value.target?.digest).toBe(busybox.manifestDigest);
    } finally {
      transfer.close();
    }
  });

  it('lists the pulled image', async () => {
    const client = createClient(images.ImagesClient, socket('images'));
    try {
      const res = await unary<images.ListImagesResponse>((cb) => client.listImages(images.ListImagesRequest.fromPartial({}), cb));
      expect(res.images.map((i) => i.name)).toContain(imageRef);
    } finally {
      client.close();
    }
  });

  it("prepares a snapshot on the image's layers, which the snapshots container unpacked", async () => {
    const client = createClient(snapshots.SnapshotsClient, socket('snapshots'));
    try {
      const parent = chainId(busybox.layers.map((l) => l.diffId));
      const res = await unary<snapshots.PrepareSnapshotResponse>((cb) =>
        client.prepareSnapshot(snapshots.PrepareSnapshotRequest.fromPartial({ key: 'packaging-test', parent }), cb),
      );
      expect(res.mounts).toHaveLength(1);
      const mount = res.mounts[0]!;
      expect(mount.type).toBe('overlay');
      const lower = mount.options.find((o) => o.startsWith('lowerdir='))?.slice('lowerdir='.length);
      expect(lower).toMatch(/^\/var\/lib\/berth\/snapshots\//);
      // The layer was applied by the service in its container, into the state the host shares.
      const onHost = join(stateDir, lower!.slice('/var/lib/berth/'.length));
      expect(existsSync(join(onHost, 'bin/busybox')), `${onHost}/bin/busybox`).toBe(true);
    } finally {
      client.close();
    }
  });

  it("reports the runc and conmon of the agent's image, and the tasks service sees the node's heartbeats over NATS", async () => {
    const client = createClient(agent.AgentClient, socket('agent'));
    try {
      const info = await unary<agent.GetInfoResponse>((cb) => client.getInfo(agent.GetInfoRequest.fromPartial({}), cb));
      expect(info.nodeId).toBe(node);
      expect(info.versions['runc']).toMatch(/^\d+\.\d+\.\d+/);
      expect(info.versions['conmon']).toMatch(/^\d+\.\d+\.\d+/);
      expect(info.cniPluginDirs).toContain('/usr/lib/cni');
    } finally {
      client.close();
    }
    const nodes = createClient(tasks.NodesClient, socket('tasks'));
    try {
      const seen = await eventually('the agent node in ListNodes', 60_000, async () => {
        const res = await unary<tasks.ListNodesResponse>((cb) => nodes.listNodes(tasks.ListNodesRequest.fromPartial({}), cb));
        return res.nodes.find((n) => n.id === node);
      });
      expect(seen.id).toBe(node);
    } finally {
      nodes.close();
    }
  }, 120_000);

  it("carries the chart's --init binary, which starts in a container without a C library (the dynamic tini does not)", async () => {
    const values = loadChart(join(repoRoot, 'deploy/helm/berth')).values as { services: { tasks: { config: Record<string, string> } } };
    const initPath = values.services.tasks.config['BERTH_TASKS_INIT_PATH'];
    expect(initPath).toBe('/usr/bin/tini-static');
    // Both binaries out of the running agent container, into an image that holds them and nothing else: no libc, no loader.
    const agentId = started.get('agent')!.getId();
    const dir = join(work!, 'init');
    mkdirSync(dir);
    await docker.run(['cp', `${agentId}:${initPath!}`, join(dir, 'init')]);
    await docker.run(['cp', `${agentId}:/usr/bin/tini`, join(dir, 'tini')]);
    const bare = `berth-test/no-libc:${uniqueName('init', 20)}`;
    testImages.push(bare);
    await docker.importFrom({ file: requireBinary('tar'), args: ['-c', '--owner=0', '--group=0', '--numeric-owner', '-C', dir, 'init', 'tini'] }, bare);
    const { stdout } = await docker.run(['run', '--rm', '--network', 'none', bare, '/init', '--version']);
    expect(stdout.toString()).toMatch(/^tini version \d+\.\d+\.\d+/);
    await expect(docker.run(['run', '--rm', '--network', 'none', bare, '/tini', '--version'])).rejects.toThrow(/no such file or directory/);
  });

  it('answers network and container listings from the networking and tasks images', async () => {
    const nets = createClient(networking.NetworksClient, socket('networking'));
    const containers = createClient(tasks.ContainersClient, socket('tasks'));
    try {
      const n = await unary<networking.ListNetworksResponse>((cb) => nets.listNetworks(networking.ListNetworksRequest.fromPartial({}), cb));
      expect(Array.isArray(n.networks)).toBe(true);
      const c = await unary<tasks.ListContainersResponse>((cb) =>
        containers.listContainers(tasks.ListContainersRequest.fromPartial({}), cb),
      );
      expect(c.containers).toEqual([]);
    } finally {
      nets.close();
      containers.close();
    }
  });

  it('runs the CLI image against the sockets: `berth images` lists the pulled image', async () => {
    const cli = await new GenericContainer(built!.images['cli']!)
      .withNetworkMode('none') // it needs only the sockets
      .withBindMounts([{ source: runDir, target: '/run/berth', mode: 'rw' }])
      .withCommand(['images'])
      .withWaitStrategy(Wait.forOneShotStartup())
      .withStartupTimeout(60_000)
      .start();
    started.set('cli', cli);
    const out = await new Promise<string>((resolve, reject) => {
      let text = '';
      void cli.logs().then((s) => {
        s.on('data', (c: Buffer | string) => (text += c.toString()));
        s.on('end', () => resolve(text));
        s.on('error', reject);
      }, reject);
    });
    expect(out).toContain(`${registryHost}/library/busybox`);
  });
});
