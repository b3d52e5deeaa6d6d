import { describe, expect, it } from 'vitest';
import { parseAempDocument } from './aemp-parser.js';
import { benchParser, buildSyntheticFleet } from './aemp-parser-bench.js';

describe('parser benchmark', () => {
  it.each(['json', 'xml'] as const)('the synthetic %s fleet parses into the same events as the other format', (format) => {
    const other = format === 'json' ? 'xml' : 'json';
    const parse = (f: 'json' | 'xml') => {
      const r = parseAempDocument(buildSyntheticFleet(3, f), { source: 's', receivedAt: 0 });
      if (!r.ok || r.document.kind !== 'fleet') throw new Error('synthetic document rejected');
      return r.document.equipment.map((eq) => ({ ids: eq.ids, warnings: eq.warnings, events: eq.events.map(({ raw: _raw, ...e }) => e) }));
    };
    const parsed = parse(format);
    expect(parsed).toHaveLength(3);
    expect(parsed[1]?.events.map((e) => e.kind)).toEqual(['meter', 'sensor', 'sensor', 'position']);
    expect(parsed.every((eq) => eq.warnings.length === 0 && eq.ids.length === 6)).toBe(true);
    expect(parsed).toEqual(parse(other));
  });

  it('reports a throughput figure (no timing assertion)', () => {
    const result = benchParser({ equipmentCount: 5, format: 'xml', minDurationMs: 0 });
    expect(result.iterations).toBe(1);
    expect(Number.isFinite(result.elementsPerSecond)).toBe(true);
    expect(result.bytes).toBe(Buffer.byteLength(buildSyntheticFleet(5, 'xml')));
  });
});
