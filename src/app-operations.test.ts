/**
 * The service's start against a destination whose connector does not deliver an operation the
 * configured rules produce for the assets routed to it (config/destination-operations.ts): refused,
 * naming the destination's key, the operation and the rule, before anything runs; only a warning
 * when no asset routed there is one the rule picks. The connector is a REST one with
 * `inventory.count` taken out of its capabilities (a test-only wrapper: no other type exists yet).
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { tempStorePath } from '../test/helpers/temp-store.js';
import { createLogger } from './adapters/log/logger.js';
import { buildConnector, createApp } from './app.js';
import { compileConfig } from './config/load.js';
import { ConfigError } from './core/errors/errors.js';
import type { ErpConnector } from './ports/connector.js';
import type { Config } from './config/schema.js';

const silent = createLogger('silent');

/** Two REST destinations, `erp` (the default) and `sap`; inventory counts the assets with a `sku`. */
function configWith(sapAsset: Record<string, string>, path = tempStorePath()): Config {
  return compileConfig(
    {
      store: { path },
      destinations: [
        { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' },
        { name: 'sap', type: 'rest', baseUrl: 'http://127.0.0.1:9' },
      ],
      rules: { inventory: { skuAttribute: 'sku' } },
      assets: { inline: [{ erpAssetId: 'P-1', destination: 'sap', attributes: sapAsset, identifiers: [{ type: 'tag', value: 'tag-p1' }] }] },
    },
    {},
  );
}

/** `sap`'s connector, without inventory counts. */
function withoutCounts(config: Config): Map<string, ErpConnector> {
  const rest = buildConnector(config.destinations[1]!, silent);
  const sap: ErpConnector = Object.assign(Object.create(rest) as ErpConnector, {
    capabilities: { ...rest.capabilities, operations: rest.capabilities.operations.filter((op) => op !== 'inventory.count') },
  });
  return new Map([['sap', sap]]);
}

describe('the service start and the operations its destinations deliver', () => {
  it('is refused when an inventory item is routed to a destination that does not deliver inventory.count', async () => {
    const path = tempStorePath();
    const config = configWith({ sku: 'PAL-1' }, path);
    const made = createApp(config, { sources: false, http: false, logger: silent, connectors: withoutCounts(config) });
    await expect(made).rejects.toThrow(ConfigError);
    await expect(made).rejects.toThrow(/destinations\.1: destination "sap" does not deliver inventory\.count \(.*\), which rules\.inventory produces for assets routed to it \(their destination\), such as P-1 .*route those assets to a destination that delivers inventory\.count/);
    // The store and its lease were let go: a start with a connector that delivers counts goes ahead.
    const app = await createApp(configWith({ sku: 'PAL-1' }, path), { sources: false, http: false, logger: silent });
    await app.close();
  });

  it('only warns, under the destination key, when no asset routed there is an inventory item', async () => {
    const config = configWith({ site: 'BER' });
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const app = await createApp(config, { sources: false, http: false, logger, connectors: withoutCounts(config) });
    await app.close();
    const warned = lines.map((l) => JSON.parse(l) as { key?: string; msg: string }).filter((l) => l.key === 'destinations.1');
    expect(warned).toEqual([expect.objectContaining({ msg: expect.stringContaining('destination "sap" does not deliver inventory.count') as string })]);
  });
});

describe('the service start, meter.record and rules.meters', () => {
  /** One REST destination `erp` whose connector delivers no meter.record, with `meters` (absent: meter sync on). */
  function meterless(meters?: object): { config: Config; connectors: Map<string, ErpConnector> } {
    const config = compileConfig({ store: { path: tempStorePath() }, destinations: [{ name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:9' }], rules: meters ? { meters } : {} }, {});
    const rest = buildConnector(config.destinations[0]!, silent);
    const erp: ErpConnector = Object.assign(Object.create(rest) as ErpConnector, { capabilities: { ...rest.capabilities, operations: rest.capabilities.operations.filter((op) => op !== 'meter.record') } });
    return { config, connectors: new Map([['erp', erp]]) };
  }

  it('is refused with meter sync on, and goes ahead with rules.meters.enabled: false', async () => {
    const on = meterless();
    await expect(createApp(on.config, { sources: false, http: false, logger: silent, connectors: on.connectors })).rejects.toThrow(/destinations\.0: destination "erp" does not deliver meter\.record .*rules\.meters\.enabled: false to send none/);
    const off = meterless({ enabled: false });
    const app = await createApp(off.config, { sources: false, http: false, logger: silent, connectors: off.connectors });
    await app.close();
  });
});
