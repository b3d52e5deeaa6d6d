import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../../core/model/events.js';
import { canonicalFromJson } from '../../core/normalize/canonical-decoder.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { captureDirProblem, captureFileName, expiredCaptureFiles, JsonlCapture } from './jsonl-capture.js';

const DAY = Date.UTC(2026, 10, 30, 12);
const meter = (i: number, t = DAY): CanonicalEvent => ({ kind: 'meter', source: 'http', ids: [{ type: 'tag', value: `tag-${i}` }], eventTime: t - 60_000, receivedAt: t, operatingHours: 100 + i });
const dir = () => mkdtempSync(join(tmpdir(), 'ab-capture-'));
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('event capture to daily JSONL files', () => {
  it('appends canonical lines to the UTC day of processing and starts a new file at midnight', async () => {
    const d = dir();
    const c = new JsonlCapture({ dir: d, keepDays: 7, maxFileBytes: 1_000_000 });
    expect(c.write([{ event: meter(1), erpAssetId: 'EQ-1' }, { event: meter(2), erpAssetId: 'EQ-2' }], DAY)).toBe(0);
    const late = Date.UTC(2026, 10, 30, 23, 59, 59);
    expect(c.write([{ event: meter(3, late), erpAssetId: 'EQ-3' }], late)).toBe(0);
    const next = Date.UTC(2026, 11, 1, 0, 0, 1);
    expect(c.write([{ event: meter(4, next), erpAssetId: 'EQ-4' }], next)).toBe(0);
    await c.close();
    expect(c.write([{ event: meter(5, next), erpAssetId: 'EQ-5' }], next)).toBe(1); // closed: counted, not written
    expect(readdirSync(d).sort()).toEqual(['events-2026-11-30.jsonl', 'events-2026-12-01.jsonl']);
    const first = lines(join(d, 'events-2026-11-30.jsonl'));
    expect(first.map((l) => l.erpAssetId)).toEqual(['EQ-1', 'EQ-2', 'EQ-3']);
    expect(lines(join(d, 'events-2026-12-01.jsonl')).map((l) => l.erpAssetId)).toEqual(['EQ-4']);
    // What rules test reads back.
    const back = canonicalFromJson(first[0], 'cli', DAY);
    expect(back).toMatchObject({ kind: 'meter', operatingHours: 101, ids: [{ type: 'erp', value: 'EQ-1' }], eventTime: DAY - 60_000 });
  });

  it('marks the events of a message its source sent again ("redelivered": true), and only those', async () => {
    const d = dir();
    const c = new JsonlCapture({ dir: d, keepDays: 7, maxFileBytes: 1_000_000 });
    expect(c.write([{ event: meter(1), erpAssetId: 'EQ-1' }, { event: meter(2), erpAssetId: 'EQ-2', redelivered: true }], DAY)).toBe(0);
    await c.close();
    const [once, again] = lines(join(d, captureFileName(DAY)));
    expect(once).not.toHaveProperty('redelivered');
    expect(again).toMatchObject({ erpAssetId: 'EQ-2', redelivered: true });
  });

  it('close waits for the day before to be written out too, when a new day started just before it', async () => {
    const d = dir();
    const c = new JsonlCapture({ dir: d, keepDays: 7, maxFileBytes: 100_000_000 });
    // Megabytes for the day before, still being written when the new day's one line is.
    const many = Array.from({ length: 20_000 }, (_, i) => ({ event: meter(i), erpAssetId: `EQ-${i}` }));
    expect(c.write(many, DAY)).toBe(0);
    const next = DAY + 86_400_000;
    expect(c.write([{ event: meter(1, next), erpAssetId: 'EQ-1' }], next)).toBe(0);
    await c.close();
    expect(lines(join(d, captureFileName(DAY)))).toHaveLength(many.length);
    expect(c.counts()).toEqual({ captured: many.length + 1, dropped: 0 });
  });

  it('appends to the day file a restart finds, and counts its size against the limit', async () => {
    const d = dir();
    writeFileSync(join(d, captureFileName(DAY)), `${'x'.repeat(900)}\n`);
    const c = new JsonlCapture({ dir: d, keepDays: 0, maxFileBytes: 1000 });
    // A line is ~150 bytes: the file already holds 901.
    expect(c.write([{ event: meter(1), erpAssetId: 'EQ-1' }], DAY)).toBe(1);
    await c.close();
    expect(readFileSync(join(d, captureFileName(DAY)), 'utf8')).toBe(`${'x'.repeat(900)}\n`);
  });

  it('stops at capture.maxFileBytes for the rest of the day, saying so once, and counts what it did not keep', async () => {
    const d = dir();
    const warnings: string[] = [];
    const logger = { warn: (m: unknown) => warnings.push(String(m)), error: (m: unknown) => warnings.push(String(m)) } as never;
    const c = new JsonlCapture({ dir: d, keepDays: 0, maxFileBytes: 400, logger });
    expect(c.write([{ event: meter(1), erpAssetId: 'EQ-1' }], DAY)).toBe(0);
    expect(c.write([{ event: meter(2), erpAssetId: 'EQ-2' }, { event: meter(3), erpAssetId: 'EQ-3' }, { event: meter(4), erpAssetId: 'EQ-4' }], DAY)).toBe(3);
    expect(c.write([{ event: meter(5), erpAssetId: 'EQ-5' }], DAY)).toBe(1); // paused, even though this one would fit
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/capture\.maxFileBytes/);
    const next = DAY + 86_400_000;
    expect(c.write([{ event: meter(6, next), erpAssetId: 'EQ-6' }], next)).toBe(0); // a new day, a new file
    await c.close();
    expect(lines(join(d, captureFileName(DAY))).map((l) => l.erpAssetId)).toEqual(['EQ-1']);
  });

  it('while the disk is behind, does not capture (saying so once) and counts it; once it caught up, captures again', async () => {
    const d = dir();
    const warnings: string[] = [];
    const logger = { warn: (_o: unknown, m?: unknown) => warnings.push(String(m)), error: () => undefined } as never;
    const c = new JsonlCapture({ dir: d, keepDays: 0, maxFileBytes: 1_000_000, maxBacklogBytes: 1, logger });
    expect(c.write([{ event: meter(1), erpAssetId: 'EQ-1' }], DAY)).toBe(0); // queued for the disk
    expect(c.write([{ event: meter(2), erpAssetId: 'EQ-2' }], DAY)).toBe(1); // still queued: behind
    expect(c.write([{ event: meter(3), erpAssetId: 'EQ-3' }], DAY)).toBe(1);
    expect(warnings).toEqual(['event capture is behind the disk: events are not captured until it catches up']);
    // Once the first line is on disk, a write is taken again.
    await waitFor(() => c.write([{ event: meter(4), erpAssetId: 'EQ-4' }], DAY) === 0, 'the capture caught up');
    await c.close();
    expect(lines(join(d, captureFileName(DAY))).map((l) => l.erpAssetId)).toEqual(['EQ-1', 'EQ-4']);
  });

  it('deletes files older than capture.keepDays when a day starts, and no other files', async () => {
    const d = dir();
    for (const n of ['events-2026-11-20.jsonl', 'events-2026-11-22.jsonl', 'events-2026-11-23.jsonl', 'events-2026-11-29.jsonl', 'notes.txt']) writeFileSync(join(d, n), '');
    const c = new JsonlCapture({ dir: d, keepDays: 7, maxFileBytes: 1_000_000 });
    c.write([{ event: meter(1), erpAssetId: 'EQ-1' }], DAY);
    await c.close();
    expect(readdirSync(d).sort()).toEqual(['events-2026-11-23.jsonl', 'events-2026-11-29.jsonl', 'events-2026-11-30.jsonl', 'notes.txt']);
    expect(expiredCaptureFiles(['events-2026-11-22.jsonl', 'events-2026-11-23.jsonl'], DAY, 0)).toEqual([]);
  });

  it('refuses a directory it cannot create, naming capture.dir', () => {
    const d = dir();
    writeFileSync(join(d, 'file'), '');
    expect(() => new JsonlCapture({ dir: join(d, 'file', 'sub'), keepDays: 0, maxFileBytes: 1000 })).toThrow(/- capture\.dir: cannot create .*file\/sub/);
  });

  // An existing directory it could not write was taken, and capture only failed with the first event.
  // sysfs: a directory no one, root included, can make a file in (permission bits do not stop root).
  it.runIf(existsSync('/sys/kernel'))('refuses a directory it cannot write, or cannot create in, naming capture.dir and what to do', () => {
    expect(() => new JsonlCapture({ dir: '/sys/kernel', keepDays: 0, maxFileBytes: 1000 })).toThrow(
      /- capture\.dir: \/sys\/kernel is not writable \(E[A-Z]+\): give this user write access to it, or set capture\.dir to a directory this user can write/,
    );
    expect(() => new JsonlCapture({ dir: '/sys/kernel/ab-capture', keepDays: 0, maxFileBytes: 1000 })).toThrow(/- capture\.dir: cannot create \/sys\/kernel\/ab-capture: \/sys\/kernel is not writable/);
    expect(captureDirProblem(dir())).toBeUndefined(); // a writable one passes, and is left as it was
  });

  it('a file it cannot write pauses capture for the day and logs it, without throwing', async () => {
    const d = dir();
    mkdirSync(join(d, captureFileName(DAY))); // the day's file name taken by a directory: the open fails (even as root)
    const errors: string[] = [];
    const logger = { warn: (m: unknown) => errors.push(String(m)), error: (m: unknown) => errors.push(String(m)) } as never;
    const c = new JsonlCapture({ dir: d, keepDays: 0, maxFileBytes: 1_000_000, logger });
    c.write([{ event: meter(1), erpAssetId: 'EQ-1' }], DAY);
    await waitFor(() => errors.length > 0, 'the failed open reported');
    expect(c.write([{ event: meter(2), erpAssetId: 'EQ-2' }], DAY)).toBe(1);
    await c.close();
    expect(errors.join('\n')).toMatch(/capture\.dir/);
  });
});

describe('what event capture counts', () => {
  it.skipIf(!existsSync('/dev/full'))('counts events as captured once their write finished: a write that fails (a full disk) counts them as not kept', async () => {
    const d = dir();
    // Every write to /dev/full fails with ENOSPC, after write() has taken the events.
    symlinkSync('/dev/full', join(d, captureFileName(DAY)));
    const errors: string[] = [];
    const logger = { warn: (m: unknown) => errors.push(String(m)), error: (m: unknown) => errors.push(String(m)) } as never;
    const c = new JsonlCapture({ dir: d, keepDays: 0, maxFileBytes: 1_000_000, logger });
    expect(c.write([{ event: meter(1), erpAssetId: 'EQ-1' }, { event: meter(2), erpAssetId: 'EQ-2' }], DAY)).toBe(0); // taken, not yet written
    await waitFor(() => errors.length > 0, 'the failed write reported');
    expect(errors[0]).toMatch(/event capture to .* failed: .*ENOSPC.*capture\.dir/);
    expect(c.write([{ event: meter(3), erpAssetId: 'EQ-3' }], DAY)).toBe(1); // paused for the day
    await c.close();
    expect(c.counts()).toEqual({ captured: 0, dropped: 3 });
  });

  it('counts the events written, and those refused, once they are', async () => {
    const d = dir();
    const c = new JsonlCapture({ dir: d, keepDays: 0, maxFileBytes: 400 });
    c.write([{ event: meter(1), erpAssetId: 'EQ-1' }], DAY);
    c.write([{ event: meter(2), erpAssetId: 'EQ-2' }, { event: meter(3), erpAssetId: 'EQ-3' }, { event: meter(4), erpAssetId: 'EQ-4' }], DAY); // over capture.maxFileBytes
    await c.close();
    expect(c.counts()).toEqual({ captured: 1, dropped: 3 });
  });
});

describe('event capture after a crash', () => {
  it('starts on a new line when a crash left the day file ending in the middle of a line', async () => {
    const d = dir();
    const file = join(d, captureFileName(DAY));
    const c1 = new JsonlCapture({ dir: d, keepDays: 0, maxFileBytes: 1_000_000 });
    c1.write([{ event: meter(1), erpAssetId: 'EQ-1' }], DAY);
    await c1.close();
    // The process died while writing EQ-2's line: half of it reached the disk.
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"kind":"meter","erpAssetId":"EQ-2","eventTi`);
    const c2 = new JsonlCapture({ dir: d, keepDays: 0, maxFileBytes: 1_000_000 });
    expect(c2.write([{ event: meter(3), erpAssetId: 'EQ-3' }], DAY)).toBe(0);
    await c2.close();
    const text = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    // The torn line stays torn (rules test reports it); the events after the restart read back whole.
    expect(text).toHaveLength(3);
    expect(JSON.parse(text[2] as string)).toMatchObject({ erpAssetId: 'EQ-3' });
    expect(canonicalFromJson(JSON.parse(text[2] as string), 'cli', DAY)).toMatchObject({ kind: 'meter', operatingHours: 103 });
  });
});
