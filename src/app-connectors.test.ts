/**
 * The connector registry (`CONNECTORS` in app.ts, docs/adding-a-connector.md step 3): every
 * destination type is registered once, and a connector whose registration says otherwise than it
 * does (the creates `dlq replay` holds, the pushes `quarantine replay` reads without the service)
 * is refused when it is built, naming what differs, rather than going silently wrong in a command.
 */
import { describe, expect, it } from 'vitest';
import { buildConnector, CONNECTORS, createsRecordOf, pushReadersOf, registrationProblems, waitsForOf } from './app.js';
import { compileConfig } from './config/load.js';
import { destinationSchema } from './config/schema.js';
import { createLogger } from './adapters/log/logger.js';
import type { ErpConnector } from './ports/connector.js';

const logger = createLogger('silent');
/** What the toy connector delivers. */
const OPS = ['usage.post', 'workorder.create'];

function connector(createsRecord: readonly string[], webhook: boolean): ErpConnector {
  return {
    name: 'toy',
    capabilities: { maxBatchSize: 1, operations: ['workorder.create', 'usage.post'], createsRecord },
    send: () => Promise.resolve([]),
    ...(webhook ? { parseWorkOrderWebhook: () => [] } : {}),
  };
}

describe('CONNECTORS', () => {
  it('registers every destination type the config takes', () => {
    expect(Object.keys(CONNECTORS).sort()).toEqual(destinationSchema.options.map((o) => o.shape.type.value).sort());
  });

  it('agrees with the connectors it builds (REST)', () => {
    const config = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'https://erp.example.com' }] });
    const d = config.destinations[0]!;
    const built = buildConnector(d, logger);
    expect(registrationProblems(CONNECTORS.rest, built)).toEqual([]);
    expect([...createsRecordOf(d)].sort()).toEqual([...(built.capabilities.createsRecord ?? [])].sort());
    expect(waitsForOf(d)).toEqual(built.capabilities.waitsFor);
    expect([...pushReadersOf(config.destinations).keys()]).toEqual(['erp']);
  });

  it('refuses to build a connector its registration disagrees with', () => {
    const d = compileConfig({ destinations: [{ name: 'erp', type: 'rest', baseUrl: 'https://erp.example.com' }] }).destinations[0]!;
    const registry = CONNECTORS as unknown as Record<string, unknown>;
    const rest = CONNECTORS.rest;
    registry.rest = { ...rest, createsRecord: ['workorder.create'] };
    try {
      expect(() => buildConnector(d, logger)).toThrow(/destination type "rest" does not agree with its registration \(CONNECTORS\.rest in src\/app\.ts\): its capabilities\.createsRecord is/);
    } finally {
      registry.rest = rest;
    }
  });

  it('finds a registration that says other than its connector does, naming what to make agree', () => {
    // Mutation: a createsRecord list drifted from the connector's (dlq replay would send a create at once that the service holds).
    const drifted = registrationProblems({ createsRecord: ['workorder.create'], operations: OPS, pushReader: undefined }, connector(['workorder.create', 'usage.post'], false));
    expect(drifted).toEqual([expect.stringMatching(/capabilities\.createsRecord is \[usage\.post, workorder\.create\] but the registration's createsRecord is \[workorder\.create\]/)]);
    // A connector that reads pushes with no pushReader: quarantine replay without the service would pass its pushes over.
    expect(registrationProblems({ createsRecord: [], operations: OPS, pushReader: undefined }, connector([], true))).toEqual([expect.stringMatching(/parseWorkOrderWebhook.*no pushReader/)]);
    // Mutation: an operations list drifted from the connector's (config check would judge the rules against other operations than the service).
    expect(registrationProblems({ createsRecord: [], operations: ['workorder.create'], pushReader: undefined }, connector([], false))).toEqual([
      expect.stringMatching(/capabilities\.operations is \[usage\.post, workorder\.create\] but the registration's operations is \[workorder\.create\] \('config check' reads that one\)/),
    ]);
    expect(registrationProblems({ createsRecord: ['usage.post', 'workorder.create'], operations: OPS, pushReader: () => ({ parse: () => [] }) }, connector(['workorder.create', 'usage.post'], true))).toEqual([]);
    // Mutation: a waitsFor drifted from the connector's (status would count as late what the service holds for its create).
    const waiting: ErpConnector = { ...connector([], false), capabilities: { maxBatchSize: 1, operations: OPS, createsRecord: [], waitsFor: { 'workorder.update': 'workorder.create' } } };
    expect(registrationProblems({ createsRecord: [], operations: OPS, pushReader: undefined }, waiting)).toEqual([
      expect.stringMatching(/capabilities\.waitsFor is \{workorder\.update → workorder\.create\} but the registration's waitsFor is \{\} \('status' reads that one\)/),
    ]);
    expect(registrationProblems({ createsRecord: [], operations: OPS, waitsFor: { 'workorder.update': 'workorder.create' }, pushReader: undefined }, waiting)).toEqual([]);
  });
});
