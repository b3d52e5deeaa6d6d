/**
 * A new destination type gets the keys `src/app.ts` reads from every destination (name, limits,
 * retry, circuit breaker, timeout, webhook) by spreading `destinationCommon`, with the same
 * defaults and checks as the REST one (docs/adding-a-connector.md, step 3).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { destinationCommon, restDestinationSchema } from './schema.js';

const other = z.strictObject({ ...destinationCommon, type: z.literal('other'), apiKey: z.string() });
const erp = { name: 'erp', type: 'rest', baseUrl: 'http://127.0.0.1:4010' };

describe('destinationCommon', () => {
  it("gives another destination type the REST one's name, timeout, limits, retry and circuit-breaker defaults", () => {
    const d = other.parse({ name: 'sap', type: 'other', apiKey: 'k' });
    const rest = restDestinationSchema.parse(erp);
    expect(d).toEqual({ name: 'sap', type: 'other', apiKey: 'k', timeoutMs: rest.timeoutMs, rateLimit: rest.rateLimit, retry: rest.retry, circuitBreaker: rest.circuitBreaker });
    expect(d.timeoutMs).toBe(15_000);
  });

  it('checks its name and webhook as for REST: a timestamp header needs a secret, a bad name is refused', () => {
    const r = other.safeParse({ name: 'a b', type: 'other', apiKey: 'k', webhook: { timestampHeader: 'X-Ts' } });
    expect(r.success).toBe(false);
    const keys = (r.error?.issues ?? []).map((i) => i.path.join('.'));
    expect(keys).toEqual(expect.arrayContaining(['name', 'webhook.timestampHeader']));
    expect(other.parse({ name: 'sap', type: 'other', apiKey: 'k', webhook: { secret: '0123456789abcdef' } }).webhook).toEqual({ secret: '0123456789abcdef', signatureHeader: 'X-Signature-256', toleranceMs: 300_000 });
  });
});
