export { openStore, type Store, type Migration } from './sqlite.js';
export { writeFileAtomic, fsyncDir, removeTempLeftovers } from './atomic-file.js';
