/**
 * `assetbridge status` and a work order's update held while its create is queued, retried or in
 * flight (the REST connector's `waitsFor`): counted on a line of its own ("waits for its create"),
 * and `waitingForCreate` in `--json`, not taken for a late delivery. Was: counted as pending like
 * any, with nothing telling it from one the ERP keeps failing.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../adapters/store/sqlite/sqlite-store.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { waitingForCreateLines } from './status.js';

const KEY = 'EQ-1|faults|SPN100-FMI1@2026-03-02T08:00:00.000Z';
const create: DeliveryIntent = { destination: 'erp', operation: 'workorder.create', kind: 'fact', businessKey: KEY, erpAssetId: 'EQ-1', eventTime: 1, payload: { priority: 'MEDIUM' } };
const raise: DeliveryIntent = { ...create, operation: 'workorder.update', eventTime: 2, payload: { priority: 'HIGH' } };

describe('status: updates waiting for their create', () => {
  it('counts them apart, in the text and in --json', async () => {
    const { path, dir } = writeConfig({ store: { path: 'ab.db' }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }] });
    const store = new SqliteStore({ path: join(dir, 'ab.db'), commitInWorker: false });
    try {
      await store.commitIngest({ states: [], deliveries: [create, raise], quarantine: [], accepted: 2 });
    } finally {
      await store.close();
    }
    const json = await runCli(['status', '--json', '-c', path]);
    expect(json.code).toBe(0);
    const s = JSON.parse(json.stdout) as { outbox: unknown[] };
    expect(s.outbox).toEqual([{ destination: 'erp', pending: 2, inflight: 0, delivered: 0, dead: 0, oldestPendingAgeMs: expect.any(Number) as number, waitingForCreate: 1 }]);
    const text = await runCli(['status', '-c', path]);
    expect(text.stderr).toBe('');
    expect(text.stdout).toContain(
      "erp: 1 of the 2 pending waits for its create (a work order's update while its workorder.create is queued, retried or in flight): not late, left out of OLDEST PENDING; sent once the create is delivered or dead\n",
    );
  });

  it('says nothing of a destination with none waiting; says how many of how many', () => {
    expect(waitingForCreateLines([{ destination: 'erp', pending: 3 }])).toBe('');
    expect(waitingForCreateLines([{ destination: 'erp', pending: 5, waitingForCreate: 2 }, { destination: 'b', pending: 1 }])).toBe(
      "erp: 2 of the 5 pending wait for their create (a work order's update while its workorder.create is queued, retried or in flight): not late, left out of OLDEST PENDING; sent once the create is delivered or dead\n",
    );
  });
});
