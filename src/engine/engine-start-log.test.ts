/**
 * The service's start line ("assetbridge running") names its store and destinations, and what
 * feeds it: the MQTT (and other) sources, and the telematics feeds with when each is pulled.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../adapters/log/logger.js';
import { createApp, type App } from '../app.js';
import { compileConfig } from '../config/load.js';
import { tempStorePath } from '../../test/helpers/temp-store.js';

const apps: App[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.stop();
});

const feed = (name: string, schedule?: object) => ({
  name,
  vendor: 'trackunit',
  baseUrl: 'http://127.0.0.1:9/public/api/aemp/v2/15143/-3',
  auth: { type: 'bearer', token: 'feed-token-0123456789' },
  ...(schedule ? { schedule } : {}),
});

describe('the service start line', () => {
  it('lists the telematics feeds with their schedules next to the sources', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
    const storePath = tempStorePath();
    const config = compileConfig({
      store: { path: storePath },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      telematics: [feed('trackunit', { cron: '30 2 * * *', timeZone: 'Europe/Copenhagen' }), feed('cat', { enabled: false })],
      log: { level: 'info' },
    });
    const app = await createApp(config, { sources: false, http: false, logger: createLogger('info', 'assetbridge', sink) });
    apps.push(app);
    await app.start();
    const running = lines.map((l) => JSON.parse(l) as { msg: string; feeds?: unknown; sources?: unknown }).find((l) => l.msg === 'assetbridge running');
    expect(running).toMatchObject({
      // Which service this is, when several run on one host: its store, and where it delivers.
      store: storePath,
      destinations: ['erp'],
      sources: [],
      feeds: [
        { name: 'trackunit', schedule: '30 2 * * * Europe/Copenhagen' },
        { name: 'cat', schedule: 'off (aemp pull only)' },
      ],
    });
    expect(lines.join('')).not.toContain('feed-token-0123456789');
  });
});
