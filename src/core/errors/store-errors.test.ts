/** What an operator is told about an error the store gave, by its code. */
import { describe, expect, it } from 'vitest';
import { storeErrorAdvice } from './store-errors.js';

describe('storeErrorAdvice', () => {
  it('names a full disk for the -shm file SQLite could not size, as a start on a full disk meets it', () => {
    // Was no advice: `assetbridge run` (and `status`) said only "error: disk I/O error".
    expect(storeErrorAdvice('SQLITE_IOERR_SHMSIZE')).toBe(storeErrorAdvice('SQLITE_FULL'));
    expect(storeErrorAdvice('SQLITE_IOERR_SHMSIZE')).toMatch(/^the disk holding the store \(store\.path\) is full/);
  });

  it('says where and what to check for any other disk I/O error', () => {
    for (const code of ['SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC', 'SQLITE_IOERR_READ']) {
      expect(storeErrorAdvice(code), code).toMatch(/^SQLite could not read or write the store's files \(store\.path and its -wal and -shm files beside it\): check that the disk holding them is not full, failing or gone/);
    }
    expect(storeErrorAdvice('SQLITE_CONSTRAINT')).toBeUndefined();
    expect(storeErrorAdvice(undefined)).toBeUndefined();
  });
});
