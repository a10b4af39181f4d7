export { openStore, type Store, type Migration } from './sqlite.js';
export { writeFileAtomic, writeFileAtomicAsync, fsyncDir, removeTempLeftovers, type AtomicWriteOptions } from './atomic-file.js';
