export * from './plan.js';
export * from './shard.js';
