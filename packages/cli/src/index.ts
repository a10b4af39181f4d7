export { renderTable, parseFormat, UsageError, BerthError } from './output.js';
