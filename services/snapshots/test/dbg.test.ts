import { it } from 'vitest';
import { makeStateRoot, startNats } from '@berth/testkit';
import { startImagesService } from './support/images-service.js';
import { contentClient } from './support/content-client.js';
it('dbg', async () => {
  const state = await makeStateRoot('dbg');
  const nats = await startNats();
  console.log('nats up');
  const images = await startImagesService({ state, natsUrl: nats.url });
  console.log('images up', images.address);
  const c = contentClient(images.address);
  const d = await c.put(Buffer.from('hello'));
  console.log('put', d);
  console.log('get', (await c.get(d)).toString());
  c.close();
  await images.stop();
  await nats.stop();
  await state.cleanup();
}, 60000);
