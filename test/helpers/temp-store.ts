import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js';

/** A fresh store in its own temp directory (one file per test, cheap isolation). */
export function tempStorePath(): string {
  return join(mkdtempSync(join(tmpdir(), 'ab-store-')), 'assetbridge.db');
}

export function tempStore(): SqliteStore {
  return new SqliteStore({ path: tempStorePath(), synchronous: 'normal' });
}
