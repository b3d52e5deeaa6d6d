import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { RawMessage } from '../../../core/model/messages.js';
import { tempStorePath } from '../../../../test/helpers/temp-store.js';
import { decodeLogBatch, encodeLogBatch, recycleLogBuffer } from './log-frame.js';
import { SqliteStore } from './sqlite-store.js';

const messages: RawMessage[] = [
  { source: 'http', channel: '/v1/events', payload: '{"site":"Köln-Süd","ok":"✓"}', receivedAt: 1_764_547_200_123 },
  { source: 'mqtt:fleet', channel: 'fleet/ä/1', payload: new Uint8Array([0, 255, 10, 13, 128]), receivedAt: 2.5 },
  { source: '', channel: '', payload: '', receivedAt: 0 },
  { source: 'mqtt:fleet', channel: 't', payload: new Uint8Array(0), receivedAt: -1 },
];

describe('ingest log batch framing', () => {
  it('round-trips text as text and bytes as bytes, empty ones included', () => {
    const data = encodeLogBatch(messages);
    // At the start of a buffer of its own (transferred to the commit worker, then given back).
    expect(data.byteOffset).toBe(0);
    expect(decodeLogBatch(data, messages.length)).toEqual(messages);
    expect(encodeLogBatch([]).byteLength).toBe(0);
  });

  it('frames a batch too large for the reused buffer exactly (multi-byte text, large bytes)', () => {
    const big: RawMessage[] = [
      { source: 'http', channel: '/v1/events', payload: `{"note":"${'ü✓'.repeat(1_500_000)}"}`, receivedAt: 1 },
      { source: 'mqtt:a', channel: 'x', payload: new Uint8Array(1000).fill(7), receivedAt: 2 },
    ];
    const data = encodeLogBatch(big);
    expect(data.buffer.byteLength).toBe(data.byteLength);
    expect(data.byteLength).toBe(21 * 2 + 4 + 10 + 6 + 1 + Buffer.byteLength(big[0]!.payload as string) + 1000);
    expect(decodeLogBatch(data, 2)).toEqual(big);
    // The reused buffer still frames small batches afterwards.
    expect(decodeLogBatch(encodeLogBatch(messages), messages.length)).toEqual(messages);
  });

  it('refuses a truncated buffer or a count that does not match, rather than replaying part of a batch', () => {
    const data = encodeLogBatch(messages);
    expect(() => decodeLogBatch(data.subarray(0, data.byteLength - 1), messages.length)).toThrow(/truncated/);
    expect(() => decodeLogBatch(data, messages.length + 1)).toThrow(/holds 4 messages, its row says 5/);
  });
});

describe('ingest log frames in buffers given back', () => {
  it('frames the next batch in a buffer given back, and reads back exactly what that batch holds', () => {
    const first = encodeLogBatch(messages);
    expect(decodeLogBatch(first, messages.length)).toEqual(messages);
    recycleLogBuffer(first.buffer as ArrayBuffer);
    const later = messages.slice(1, 3);
    const second = encodeLogBatch(later);
    // The same memory, overwritten from its start: the view ends where this frame ends.
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteOffset).toBe(0);
    expect(decodeLogBatch(second, later.length)).toEqual(later);
  });

  it('does not hand out a buffer twice while it is not given back', () => {
    const a = encodeLogBatch(messages);
    const b = encodeLogBatch(messages);
    expect(b.buffer).not.toBe(a.buffer);
    expect(decodeLogBatch(a, messages.length)).toEqual(messages);
  });

  it('lets a given-back buffer too small for a batch go, and frames that batch in one large enough', () => {
    const small = encodeLogBatch(messages);
    recycleLogBuffer(small.buffer as ArrayBuffer);
    const big: RawMessage[] = [{ source: 'http', channel: '/v1/events', payload: `{"note":"${'x'.repeat(2_000_000)}"}`, receivedAt: 1 }];
    const data = encodeLogBatch(big);
    expect(data.buffer).not.toBe(small.buffer);
    expect(decodeLogBatch(data, 1)).toEqual(big);
  });
});

describe('reading the ingest log back (batch rows, and rows an older version wrote, one per message)', () => {
  const stores: SqliteStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });

  it('rows an older version wrote are replayed first, counted, and cleared by the next checkpoint with the batches', async () => {
    const path = tempStorePath();
    const s = new SqliteStore({ path, commitInWorker: false });
    stores.push(s);
    // What a version with migration 3 only left behind after a crash.
    const raw = new Database(path);
    raw.prepare('INSERT INTO ingest_log (now, source, channel, payload, is_text, received_at) VALUES (?, ?, ?, ?, ?, ?)').run(3, 'http', '/v1/events', '{"old":1}', 1, 10);
    raw.prepare('INSERT INTO ingest_log (now, source, channel, payload, is_text, received_at) VALUES (?, ?, ?, ?, ?, ?)').run(3, 'mqtt:a', 'x', Buffer.from([1, 2]), 0, 11);
    raw.close();
    await s.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: 1, log: { now: 4, messages: [messages[0] as RawMessage] } });
    const log = await s.readIngestLog();
    expect(log).toEqual([
      // Older than any batch row: log position 0.
      { now: 3, seq: 0, source: 'http', channel: '/v1/events', payload: '{"old":1}', receivedAt: 10 },
      { now: 3, seq: 0, source: 'mqtt:a', channel: 'x', payload: new Uint8Array([1, 2]), receivedAt: 11 },
      { now: 4, seq: 1, ...messages[0] },
    ]);
    expect((await s.counters()).ingestLog).toBe(3);
    await s.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: 0, checkpoint: true });
    expect(await s.readIngestLog()).toEqual([]);
    expect((await s.counters()).ingestLog).toBe(0);
  });

  it('a long log is decoded in turns of the event loop, in order', async () => {
    const s = new SqliteStore({ path: tempStorePath(), commitInWorker: false });
    stores.push(s);
    const batch = (k: number): RawMessage[] => Array.from({ length: 1000 }, (_, i) => ({ source: 'http', channel: '/v1/events', payload: `{"n":${k * 1000 + i}}`, receivedAt: k }));
    for (let k = 0; k < 12; k++) await s.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: 1000, log: { now: k, messages: batch(k) } });
    let turns = 0;
    const tick = (): void => {
      turns++;
      if (turns < 100) setImmediate(tick);
    };
    setImmediate(tick);
    const log = await s.readIngestLog();
    const seen = turns;
    turns = 100; // stop the ticker
    // 12,000 messages: two turns taken (after 5,000 and 10,000), so the ticker ran at least twice.
    expect(seen).toBeGreaterThanOrEqual(2);
    expect(log.map((m) => m.payload)).toEqual(Array.from({ length: 12 }, (_, k) => batch(k).map((m) => m.payload)).flat());
    expect(log.map((m) => m.now)).toEqual(Array.from({ length: 12_000 }, (_, i) => Math.floor(i / 1000)));
  });

  it('a damaged batch row stops the replay with an error naming the store and the row', async () => {
    const path = tempStorePath();
    const s = new SqliteStore({ path, commitInWorker: false });
    stores.push(s);
    await s.commitIngest({ states: [], deliveries: [], quarantine: [], accepted: 1, log: { now: 4, messages } });
    const raw = new Database(path);
    raw.prepare('UPDATE ingest_log_batch SET data = substr(data, 1, 10)').run();
    raw.close();
    await expect(s.readIngestLog()).rejects.toThrow(/ingest log in .* is damaged \(ingest_log_batch row 1: ingest log batch is truncated\)/);
  });
});
