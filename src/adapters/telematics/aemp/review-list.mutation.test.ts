/**
 * Mutation-audit tests for the review list built from page records: the latest record of a machine
 * wins (in the backfill index and on the list), a confirmation by PIN picks the open entry, and a
 * complete pull forgets the records of pages it no longer reached.
 */
import { describe, expect, it } from 'vitest';
import { MemoryKv } from '../../../../simulators/trackunit/test-support.js';
import { useTempStores } from '../../../../test/helpers/temp-stores.js';
import type { SourceIdentifier } from '../../../core/model/events.js';
import { confirmReview, dropPageRecordsBefore, listReview, loadEquipmentIndex, PAGES_NAMESPACE, savePageRecord, type ReviewEntry } from './review-list.js';

const T0 = Date.UTC(2025, 2, 4, 3, 0, 0);
const DAY = 24 * 3_600_000;
const page = (n: number) => `http://feed.example/Fleet/${n}`;
const newStore = useTempStores();

function entry(key: string, ids: SourceIdentifier[], at: number, extra: Partial<ReviewEntry> = {}): ReviewEntry {
  return {
    provider: 'tu',
    key,
    status: 'unmatched',
    header: { model: key },
    ids,
    candidates: [],
    firstSeenAt: T0,
    lastSeenAt: at,
    seenCount: 1,
    message: { source: 'aemp:tu', channel: page(1), payload: JSON.stringify({ EquipmentHeader: { Model: key } }), receivedAt: at },
    ...extra,
  };
}

describe('review list (mutation audit)', () => {
  // Kills: `seen.at <= record.storedAt` → `>=` (an older page record wins in the backfill index).
  it('keeps the latest record of a machine that two page records hold (it moved pages) in the backfill index', async () => {
    for (const order of [
      [1, 2],
      [2, 1],
    ] as const) {
      const kv = new MemoryKv();
      const ids: SourceIdentifier[] = [{ type: 'pin', value: 'PIN1' }];
      // The older pull saw it unmatched on one page; the newer pull matched it on the other.
      await savePageRecord(kv, 'tu', page(order[0]), { pullStartedAt: T0, storedAt: T0, equipment: [{ key: 'pin:PIN1', ids }], review: [] });
      await savePageRecord(kv, 'tu', page(order[1]), { pullStartedAt: T0 + DAY, storedAt: T0 + DAY, equipment: [{ key: 'pin:PIN1', ids, erpAssetId: 'EQ-1' }], review: [] });
      expect(await loadEquipmentIndex(kv, 'tu')).toEqual([{ key: 'pin:PIN1', ids, erpAssetId: 'EQ-1' }]);
    }
  });

  // Kills: the first review entry found winning over a later one of the same machine.
  it('shows the latest review entry of a machine that two page records hold', async () => {
    const kv = new MemoryKv();
    const ids: SourceIdentifier[] = [{ type: 'pin', value: 'PIN1' }];
    await savePageRecord(kv, 'tu', page(1), { pullStartedAt: T0, storedAt: T0, equipment: [], review: [entry('pin:PIN1', ids, T0)] });
    await savePageRecord(kv, 'tu', page(2), { pullStartedAt: T0 + DAY, storedAt: T0 + DAY, equipment: [], review: [entry('pin:PIN1', ids, T0 + DAY, { status: 'ambiguous', seenCount: 2 })] });
    const list = await listReview(kv);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ lastSeenAt: T0 + DAY, status: 'ambiguous', seenCount: 2 });
  });

  // Kills: a confirmation by identifier not preferring the open entry over a resolved one.
  it('confirms the open entry when an identifier also names an entry resolved earlier', async () => {
    const store = newStore();
    await store.upsertAssets([{ asset: { erpAssetId: 'EQ-7', erpModule: 'fixed-assets', attributes: {} }, identifiers: [] }]);
    const resolved = entry('machine-id:OLD', [{ type: 'machine-id', value: 'OLD' }, { type: 'pin', value: 'PIN7' }], T0, { status: 'resolved', resolution: { erpAssetId: 'EQ-0', at: T0 } });
    const open = entry('machine-id:NEW', [{ type: 'machine-id', value: 'NEW' }, { type: 'pin', value: 'PIN7' }], T0 + DAY);
    await savePageRecord(store, 'tu', page(1), { pullStartedAt: T0 + DAY, storedAt: T0 + DAY, equipment: [], review: [resolved, open] });
    const result = await confirmReview({ store, now: T0 + 2 * DAY }, 'PIN7', 'EQ-7');
    expect(result.entry).toMatchObject({ key: 'machine-id:NEW', status: 'resolved', resolution: { erpAssetId: 'EQ-7' } });
    expect(await listReview(store)).toEqual([]);
  });

  // Kills: the pages this run stored ignored (every record read again), and the pull's start not compared.
  it("forgets, at the end of a complete pull, the records of earlier pulls' pages, and reads none of the pages this run stored", async () => {
    const store = newStore();
    const record = (pullStartedAt: number) => ({ pullStartedAt, storedAt: pullStartedAt, equipment: [], review: [] });
    const pull = T0 + DAY;
    await savePageRecord(store, 'tu', page(1), record(pull)); // stored by this run
    await savePageRecord(store, 'tu', page(2), record(pull)); // stored by the pull's first run (it was resumed)
    await savePageRecord(store, 'tu', page(3), record(T0)); // an earlier pull's page the snapshot no longer has
    await savePageRecord(store, 'other', page(3), record(T0)); // another provider's
    // Stands for "not read": a page this run stored keeps its record, whatever the record says.
    await savePageRecord(store, 'tu', page(4), record(T0));
    await store.kvSet(PAGES_NAMESPACE, `tu|${page(5)}`, '{"pullStartedAt":'); // damaged: left for the next pull to rewrite
    expect(await dropPageRecordsBefore(store, 'tu', pull, new Set([page(1), page(4)]))).toBe(1);
    const left = (await store.kvList(PAGES_NAMESPACE)).map((r) => r.key);
    expect(left).toEqual([`other|${page(3)}`, `tu|${page(1)}`, `tu|${page(2)}`, `tu|${page(4)}`, `tu|${page(5)}`]);
  });
});
