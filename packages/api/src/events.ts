// berth.events.v1: bus event envelope and payloads.
export * from './gen/berth/events/v1/events.js';
