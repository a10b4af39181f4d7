export { openStore, durableTransaction, type Store, type Migration, type StoreOptions } from './sqlite.js';
export { writeFileAtomic, writeFileAtomicAsync, fsyncDir, removeTempLeftovers, type AtomicWriteOptions } from './atomic-file.js';
export { BackgroundRemover, removeInBackground, purgeRemoved, type Removal } from './removal.js';
