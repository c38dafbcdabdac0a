/** The workflow bundle's entry: every workflow type a thorbench worker registers. */
export { sweep } from './sweep.js';
export { cell } from './cell.js';
export { deviceRegistry } from './device-registry.js';
