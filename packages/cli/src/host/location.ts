// Where the CLI host's entry file is, for `system up` to start it.
import { createRequire } from 'node:module';

/**
 * dist/host/main.js, through the package's "./host" export. In the bundle,
 * `require` is the launcher's (resolving from bundle/); run from dist, it is
 * an ES module's and needs its own.
 */
export function hostMain(): string {
  const resolver = typeof require === 'function' ? require : createRequire(import.meta.url);
  return resolver.resolve('@berth/cli/host');
}
