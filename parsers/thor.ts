/**
 * Parsers for the outputs of Jetson Thor's device tools. Each lives in its own file under parsers/thor/; this module
 * is the one import the device activities and the simulator use.
 *
 * Deterministic: no Node.js APIs, safe to import from workflow code.
 */
export { ParseError } from './parse-error.js';
export * from './thor/nvpmodel.js';
export * from './thor/jetson-clocks.js';
export * from './thor/nv-tegra-release.js';
export * from './thor/tegrastats.js';
export * from './thor/docker-inspect.js';
export * from './thor/docker-image-inspect.js';
