export * from './experiment.js';
export * from './metrics.js';
export * from './outcome.js';
