/**
 * docs/adding-a-connector.md lists the fields of an `inventory.count` payload for connector authors:
 * the list is the one the inventory task's counts carry, so a field added or renamed is documented.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMPTY_SENT, cellKey, planInventoryCounts } from './core/rules/inventory/counts.js';

describe('docs/adding-a-connector.md, inventory counts', () => {
  it('lists the payload fields an inventory count carries, no more and no fewer', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../docs/adding-a-connector.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Inventory counts'));
    const documented = [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]).sort();
    const [count] = planInventoryCounts('erp', new Map([[cellKey('A', 'S'), { location: 'A', sku: 'S', quantity: 2, items: 2 }]]), EMPTY_SENT, 'changes', 0).deliveries;
    expect(documented).toEqual(Object.keys(count?.payload ?? {}).sort());
  });
});
