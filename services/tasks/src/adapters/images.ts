// ImagesPort over the images service's InspectImage.
import { images, type types } from '@berth/api';
import { parseImageConfig } from '@berth/oci';
import { createClient } from '@berth/service-kit';
import { errorMessage, internal } from '../errors.js';
import type { ImagesPort, ResolvedImage } from '../ports.js';
import { callUnary, type Peer } from './grpc-call.js';

export class GrpcImages implements ImagesPort {
  private readonly client: images.ImagesClient;
  private readonly peer: Peer;

  constructor(
    address: string,
    private readonly timeoutMs: number,
  ) {
    this.client = createClient(images.ImagesClient, address);
    this.peer = { name: 'images service', address };
  }

  async resolve(namespace: string, reference: string, platform: types.Platform | undefined): Promise<ResolvedImage> {
    const res = await callUnary(this.peer, this.client.inspectImage.bind(this.client), { name: reference, platform }, {
      namespace,
      timeoutMs: this.timeoutMs,
    });
    if (!res.image?.target || !res.config) {
      throw internal(`the images service answered InspectImage for ${reference} without the image record or its config`);
    }
    let config;
    try {
      config = parseImageConfig(res.configJson);
    } catch (err) {
      throw internal(`the config of image ${res.image.name} (${res.config.digest}) is not a valid image config: ${errorMessage(err)}`);
    }
    return {
      name: res.image.name,
      target: res.image.target,
      configDigest: res.config.digest,
      config: config.config ?? {},
      chainId: res.chainId,
    };
  }

  close(): void {
    this.client.close();
  }
}
