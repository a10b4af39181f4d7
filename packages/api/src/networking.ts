// berth.networking.v1: networks, attachments, container DNS.
export * from './gen/berth/networking/v1/networks.js';
export * from './gen/berth/networking/v1/attachments.js';
export * from './gen/berth/networking/v1/dns.js';
