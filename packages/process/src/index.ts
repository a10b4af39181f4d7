export { runProcess, type ProcessOutput, type RunOptions } from './run-process.js';
