import { afterEach } from 'vitest';
import type { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { tempStore } from './temp-store.js';

/**
 * For a test file: a function making a fresh temp store ({@link tempStore}) each call, every one
 * closed after its test. Call it at the top level of the file (it registers an `afterEach`).
 */
export function useTempStores(): () => SqliteStore {
  const stores: SqliteStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });
  return () => {
    const s = tempStore();
    stores.push(s);
    return s;
  };
}
