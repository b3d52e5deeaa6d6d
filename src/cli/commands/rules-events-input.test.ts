/**
 * How `rules test --events` reads its files: decompressed when gzip-compressed, and left cleanly
 * when the run stops before a file's end (a rule set that fails, an output that closes).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gunzipIfGzip, readFiles } from './rules.js';

const LINE = '{"kind":"position","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","lat":52.5,"lng":13.4}';

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const i of items) yield await Promise.resolve(i);
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of chunks) out.push(c);
  return Buffer.concat(out).toString('utf8');
}

describe('gunzipIfGzip', () => {
  it('passes text through as it is, however it is chunked, and decompresses gzip', async () => {
    const text = `${LINE}\n${LINE}\n`;
    expect(await collect(gunzipIfGzip(from([Buffer.from(text)]), 'a'))).toBe(text);
    // The magic bytes split over chunks, and a first chunk of one byte.
    const gz = gzipSync(text);
    expect(await collect(gunzipIfGzip(from([gz.subarray(0, 1), gz.subarray(1, 5), gz.subarray(5)]), 'a'))).toBe(text);
    expect(await collect(gunzipIfGzip(from(['{', `"a":1}\n`]), 'a'))).toBe('{"a":1}\n');
    expect(await collect(gunzipIfGzip(from<Buffer>([]), 'a'))).toBe('');
  });
});

describe('readFiles', () => {
  it('leaves a file read in part without an unhandled error when the run stops before its end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-events-'));
    const lines = Array.from({ length: 50_000 }, () => LINE).join('\n');
    writeFileSync(join(dir, 'a.jsonl'), lines);
    writeFileSync(join(dir, 'b.jsonl.gz'), gzipSync(lines));
    const unhandled: unknown[] = [];
    const onError = (err: unknown) => unhandled.push(err);
    process.on('uncaughtException', onError);
    try {
      for (const name of ['a.jsonl', 'b.jsonl.gz']) {
        const reading = readFiles([{ path: join(dir, name), size: undefined }]);
        let n = 0;
        for await (const line of reading.lines) {
          expect(line).toBe(LINE);
          if (++n === 3) break; // as runRulesTest stops reading when it throws
        }
        reading.close();
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(unhandled).toEqual([]);
  });
});
