/**
 * Zones: named polygons and circles mapped to ERP location codes, a grid index to find them fast,
 * and membership with dwell and hysteresis.
 * @module
 */
export * from './geometry.js';
export * from './geojson.js';
export * from './zone-index.js';
export * from './zone-tracker.js';
export * from './tracking.js';
