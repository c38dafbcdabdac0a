export * from './plan.js';
export * from './model-eligibility.js';
