// berth.images.v1.Transfer: pull and push against registries, import and
// export of archives (each in its own module), and the credential check
// behind `berth login`.
import { images } from '@berth/api';
import type { ImagesCore } from '../core.js';
import { invalidArgument } from '../errors.js';
import { normalizeRegistryHost } from '../registry/login.js';
import { cancellation } from './async-queue.js';
import type { Handlers } from './handlers.js';
import { credentialsFromProto, registryFor } from './registry-options.js';
import { exportImagesHandler, importImagesHandler } from './transfer-archives.js';
import { pullImageHandler } from './transfer-pull.js';
import { pushImageHandler } from './transfer-push.js';
import type { TransferSettings } from './transfer-settings.js';

export type { TransferSettings } from './transfer-settings.js';

export function transferService(core: ImagesCore, h: Handlers, settings: TransferSettings): images.TransferServer {
  return {
    pullImage: pullImageHandler(core, h, settings),
    pushImage: pushImageHandler(core, h, settings),
    importImages: importImagesHandler(core, h, settings),
    exportImages: exportImagesHandler(core, h, settings),

    // Checks only; storing the credentials (config.json) is the caller's part, as the contract says.
    verifyRegistryCredentials: h.unary(async (req, call) => {
      const host = normalizeRegistryHost(req.registryHost);
      const creds = credentialsFromProto(req.registry?.credentials);
      if (!creds) throw invalidArgument(`VerifyRegistryCredentials for ${host}: credentials are required`);
      const registry = registryFor(core.registry, settings.registryBase, req.registry, host);
      const abort = cancellation(call);
      try {
        const result = await registry.client.verifyCredentials(host, creds, { signal: abort.signal });
        return images.VerifyRegistryCredentialsResponse.fromPartial({ identityToken: result.identityToken ?? '' });
      } finally {
        registry.release();
      }
    }),
  };
}
