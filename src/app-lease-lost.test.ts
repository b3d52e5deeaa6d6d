/**
 * An app made by a command other than `run` (quarantine replay, the aemp commands, the demo) that
 * loses its store lease ends as a crash would (exit 1), but once the log line saying why is
 * written out, as `run` does: at once, on a pipe, that line was lost now and then.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from './adapters/log/logger.js';
import { createApp } from './app.js';
import { compileConfig } from './config/load.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createApp: the default when the store lease is lost', () => {
  it('exits 1 only once the line saying why is written out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-lost-'));
    const logFile = join(dir, 'log');
    const dest = pino.destination({ dest: logFile, sync: false, mkdir: true });
    await new Promise<void>((r) => dest.once('ready', () => r()));
    const logger = createLogger('info', 'test', dest);
    // Whether the destination was still writing (the line saying why) when the process would have ended.
    const writing = () => (dest as unknown as { _writing: boolean })._writing;
    let exited: (seen: { code: number; stillWriting: boolean }) => void = () => undefined;
    const ended = new Promise<{ code: number; stillWriting: boolean }>((r) => (exited = r));
    vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      exited({ code: code ?? 0, stillWriting: writing() });
      return undefined as never;
    }) as typeof process.exit);
    const path = join(dir, 'ab.db');
    const config = compileConfig({ store: { path }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], log: { level: 'info' } });
    const app = await createApp(config, { sources: false, http: false, logger, command: 'assetbridge quarantine replay' });
    try {
      rmSync(path); // the store file deleted under it: the next renewal loses the lease
      expect(await ended).toEqual({ code: 1, stillWriting: false });
      expect(readFileSync(logFile, 'utf8')).toContain('the store file');
    } finally {
      await app.close().catch(() => undefined);
      dest.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
