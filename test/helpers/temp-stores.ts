import { afterEach } from 'vitest';
import type { SqliteStore, SqliteStoreOptions } from '../../src/adapters/store/sqlite/sqlite-store.js';
import { tempStore } from './temp-store.js';

/**
 * For a test file: a function making a fresh temp store ({@link tempStore}, given its `options`)
 * each call, every one closed after its test. Call it at the top level of the file, or of a
 * `describe` for its tests only (it registers an `afterEach`).
 */
export function useTempStores(): (options?: Partial<SqliteStoreOptions>) => SqliteStore {
  const stores: SqliteStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });
  return (options) => {
    const s = tempStore(options);
    stores.push(s);
    return s;
  };
}
