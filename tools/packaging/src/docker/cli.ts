// The docker command line against one engine (DOCKER_HOST), with the classic
// builder (no buildx needed) and errors that keep the command and its stderr.
import { spawn } from 'node:child_process';
import { requireBinary, run, type RunResult } from '@berth/testkit';

export interface BuildOptions {
  /** Context directory; omit to build from a Dockerfile given as `dockerfileText` with no context. */
  context?: string;
  /** Path of the Dockerfile (default <context>/Dockerfile). */
  dockerfile?: string;
  dockerfileText?: string;
  target?: string;
  tag: string;
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  Size: number;
  Config: {
    User?: string;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[];
    Labels?: Record<string, string> | null;
    Healthcheck?: { Test?: string[] } | null;
  };
}

export class DockerCli {
  readonly binary: string;

  constructor(readonly host: string) {
    this.binary = requireBinary('docker', 'the docker client: apt-get install docker.io');
  }

  env(): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: this.host, DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false' };
  }

  run(args: readonly string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(this.binary, args, { env: this.env(), ...opts });
  }

  /**
   * `docker import` of a tar produced by a command (e.g. tar -c), streamed
   * without a temp file; returns the image id.
   */
  importFrom(producer: { file: string; args: readonly string[]; cwd?: string }, tag: string, changes: string[] = []): Promise<string> {
    const args = ['import', ...changes.flatMap((c) => ['--change', c]), '-', tag];
    return new Promise((resolve, reject) => {
      const src = spawn(producer.file, producer.args, { cwd: producer.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      const dst = spawn(this.binary, args, { env: this.env(), stdio: ['pipe', 'pipe', 'pipe'] });
      let srcErr = '';
      let dstErr = '';
      let out = '';
      src.stderr.on('data', (c: Buffer) => (srcErr += c.toString()));
      dst.stderr.on('data', (c: Buffer) => (dstErr += c.toString()));
      dst.stdout.on('data', (c: Buffer) => (out += c.toString()));
      src.stdout.pipe(dst.stdin);
      dst.stdin.on('error', () => undefined);
      let srcStatus: number | null | undefined;
      src.on('error', (e) => reject(new Error(`could not run ${producer.file}: ${e.message}`)));
      dst.on('error', (e) => reject(new Error(`could not run ${this.binary}: ${e.message}`)));
      src.on('close', (code) => (srcStatus = code));
      dst.on('close', (code) => {
        if (srcStatus !== 0 && srcStatus !== undefined) {
          reject(new Error(`${producer.file} ${producer.args.join(' ')} exited with status ${srcStatus}: ${srcErr.trim()}`));
        } else if (code !== 0) {
          reject(new Error(`docker ${args.join(' ')} exited with status ${code}: ${dstErr.trim()}`));
        } else resolve(out.trim());
      });
    });
  }

  async build(o: BuildOptions): Promise<void> {
    const args = ['build', '--quiet', '--tag', o.tag];
    if (o.target) args.push('--target', o.target);
    for (const [k, v] of Object.entries(o.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
    for (const [k, v] of Object.entries(o.labels ?? {})) args.push('--label', `${k}=${v}`);
    if (o.context === undefined) {
      if (o.dockerfileText === undefined) throw new Error(`build of ${o.tag}: neither a context nor a Dockerfile text`);
      await this.run([...args, '-'], { input: o.dockerfileText });
      return;
    }
    if (o.dockerfile) args.push('--file', o.dockerfile);
    await this.run([...args, o.context]);
  }

  async inspectImage(ref: string): Promise<ImageInspect> {
    const { stdout } = await this.run(['image', 'inspect', ref]);
    const list = JSON.parse(stdout.toString()) as ImageInspect[];
    if (!list[0]) throw new Error(`docker image inspect ${ref} returned nothing`);
    return list[0];
  }

  async imageExists(ref: string): Promise<boolean> {
    return this.inspectImage(ref).then(
      () => true,
      () => false,
    );
  }

  /** Removes images by reference; ones already gone are not an error. */
  async removeImages(refs: readonly string[]): Promise<void> {
    const present: string[] = [];
    for (const ref of refs) if (await this.imageExists(ref)) present.push(ref);
    if (present.length > 0) await this.run(['image', 'rm', '--force', ...present]);
  }
}
