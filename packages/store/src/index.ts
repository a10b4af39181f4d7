export { openStore, durableTransaction, type Store, type Migration, type StoreOptions } from './sqlite.js';
export { writeFileAtomic, writeFileAtomicAsync, fsyncDir, removeTempLeftovers, type AtomicWriteOptions } from './atomic-file.js';
export { removeInBackground, purgeRemoved, type Removal } from './removal.js';
