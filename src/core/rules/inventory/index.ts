/**
 * Inventory sync: where each tagged item was last seen (a rule), and counts per (location, SKU)
 * planned as `inventory.count` deliveries (used by the inventory task).
 * @module
 */
export * from './inventory-rule.js';
export * from './counts.js';
