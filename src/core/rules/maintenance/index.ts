/**
 * Maintenance initiation: threshold rules, service intervals, maintenance windows and the
 * exactly-once work orders they open.
 * @module
 */
export * from './types.js';
export * from './windows.js';
export * from './threshold.js';
export * from './service-interval.js';
export * from './work-order.js';
export * from './maintenance-rule.js';
export * from './status.js';
