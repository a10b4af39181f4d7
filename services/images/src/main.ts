// berth-images: the images service process.
import { runServiceMain } from '@berth/service-kit';
import { imagesServiceSpec } from './service.js';

runServiceMain(imagesServiceSpec);
