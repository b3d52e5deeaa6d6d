/**
 * `assetbridge status` "messages accepted": the intake's messages (MQTT, HTTP, telematics, a push
 * to a work-order webhook), not the work-order updates the service's ERP polls list, which are
 * shown apart. Was: every poll's updates were counted as accepted messages, so the figure grew with
 * no device sending anything.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../app.js';
import { createLogger } from '../../adapters/log/logger.js';
import { loadConfigFile } from '../../config/load.js';
import { runCli, writeConfig } from '../../../test/helpers/cli.js';
import { feedbackSource, polledChannel } from '../../core/rules/maintenance/work-order.js';

describe('status: messages accepted', () => {
  it('counts the intake messages; the work-order updates ERP polls listed are counted on their own line', async () => {
    const cfg = writeConfig((dir) => ({
      store: { path: join(dir, 'ab.db') },
      destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }],
      log: { level: 'silent' },
      assets: { inline: [{ erpAssetId: 'EQ-1', identifiers: [{ type: 'tag', value: 'tag-1' }] }] },
      rules: { allowedLateness: '0s', maintenance: { serviceIntervals: [{ name: 'svc-10h', everyHours: 10 }], feedback: { pollEvery: 0 } } },
    }));
    const app = await createApp(loadConfigFile(cfg.path), { sources: false, http: false, deliver: false, logger: createLogger('silent') });
    const at = new Date(Date.now() - 60_000).toISOString();
    const update = (status: string) => JSON.stringify({ kind: 'workorder', erpAssetId: 'EQ-1', eventTime: at, businessKey: 'EQ-1|svc-10h|10h@b0', erpWorkOrderId: 'WO-1', status });
    try {
      const r = await app.ingestor.submit([
        // The intake: a reading, and an update the ERP pushed to the webhook.
        { source: 'http', channel: '/v1/events', payload: JSON.stringify({ kind: 'meter', ids: [{ type: 'tag', value: 'tag-1' }], eventTime: at, operatingHours: 2 }), receivedAt: Date.now() },
        { source: feedbackSource('erp'), channel: '/v1/webhooks/erp/work-orders', payload: update('in-progress'), receivedAt: Date.now() },
        // Listed by a poll of the ERP, as the feedback task submits it.
        { source: feedbackSource('erp'), channel: polledChannel('erp'), payload: update('completed'), receivedAt: Date.now(), retained: true },
      ]);
      expect(r).toEqual({ accepted: 3, quarantined: [] });
      await app.ingestor.flush();
      expect(await app.store.counters()).toMatchObject({ eventsAccepted: 2, workOrderUpdatesPolled: 1 });
      // The process's own counts (the runtime snapshot's `ingest`, the demo's "accepted") say the same.
      expect(app.ingestor.stats).toMatchObject({ received: 3, polledReceived: 1, accepted: 2, workOrderUpdatesPolled: 1, quarantined: 0 });
    } finally {
      await app.close();
    }
    const status = await runCli(['status', '-c', cfg.path]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('messages accepted: 2   quarantined: 0 (0 still open)\n');
    expect(status.stdout).toContain('work-order updates polled from the ERP (accepted, all time): 1\n');
  }, 60_000);
});
