export * from './plan.js';
export * from './shard.js';
export * from './estimate.js';
export * from './failover.js';
export * from './model-eligibility.js';
