export { openStore, type Store, type Migration } from './sqlite.js';
export { writeFileAtomic, writeFileAtomicAsync, fsyncDir, removeTempLeftovers } from './atomic-file.js';
