export { runProcess, type ProcessOutput, type RunOptions } from './run-process.js';
export { holdEventLoop } from './hold-loop.js';
