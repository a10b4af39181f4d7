export { renderTable, renderList, renderTemplate, parseFormat, UsageError, BerthError, type Format } from './output.js';
export { buildProgram } from './program/index.js';
