/**
 * Depreciation and lifecycle: fiscal period calendars, usage per period (a rule), and the
 * units-of-production inputs posted to the ERP's asset register.
 * @module
 */
export * from './calendar.js';
export * from './usage-rule.js';
export * from './usage.js';
export * from './posting.js';
export * from './inputs.js';
export * from './refile.js';
