import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileTopicFilter, filterCovers, stripSharePrefix, topicFilterProblem, topicMatches } from './topic-match.js';

describe('topicMatches', () => {
  it.each([
    ['fleet/+/telemetry', 'fleet/tag-0001/telemetry', true],
    ['fleet/+/telemetry', 'fleet/tag-0001/status', false],
    ['fleet/+/telemetry', 'fleet/a/b/telemetry', false],
    ['fleet/+/telemetry', 'fleet//telemetry', true], // an empty level is still a level
    ['fleet/#', 'fleet', true], // # also matches the parent level
    ['fleet/#', 'fleet/a/b/c', true],
    ['fleet/#', 'fleets/a', false],
    ['#', 'anything/at/all', true],
    ['#', '$SYS/broker/uptime', false], // wildcard-first filters never match $ topics
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/broker/uptime', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['A/b', 'a/b', false], // topics are case-sensitive
    ['$share/ingest/fleet/+/telemetry', 'fleet/tag-1/telemetry', true],
    ['$share/ingest/fleet/+/telemetry', 'ingest/fleet/tag-1/telemetry', false],
  ])('%s vs %s → %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
    expect(compileTopicFilter(filter)(topic)).toBe(expected);
  });
});

describe('stripSharePrefix', () => {
  it('removes $share/<group>/ and leaves other filters alone', () => {
    expect(stripSharePrefix('$share/g1/fleet/#')).toBe('fleet/#');
    expect(stripSharePrefix('fleet/#')).toBe('fleet/#');
    expect(stripSharePrefix('$SYS/#')).toBe('$SYS/#');
  });
});

describe('topicFilterProblem', () => {
  it('accepts valid filters', () => {
    for (const f of ['a', 'a/b', '+', '#', 'a/+/c', 'a/#', '+/+', '$share/g/a/#', '/leading'])
      expect(topicFilterProblem(f), f).toBeUndefined();
  });
  it.each([
    ['', /empty/],
    ['a/#/c', /"#" must be a whole level and the last one/],
    ['a/b#', /"#" must be a whole level/],
    ['a/b+/c', /"\+" must be a whole level/],
    ['$share//a', /\$share\/<group>\/<filter>/],
    ['$share/g', /\$share\/<group>\/<filter>/],
    ['$share/g/', /empty/],
  ])('rejects %j', (filter, reason) => {
    expect(topicFilterProblem(filter)).toMatch(reason);
  });
});

describe('compileTopicFilter: against the MQTT matching rules, spelled out', () => {
  /** MQTT 3.1.1 §4.7 by the letter: level by level on the split topic. */
  const reference = (filter: string, topic: string): boolean => {
    const levels = filter.split('/');
    if ((levels[0] === '+' || levels[0] === '#') && topic.startsWith('$')) return false;
    const parts = topic.split('/');
    for (let i = 0; i < levels.length; i++) {
      if (levels[i] === '#') return true;
      if (i >= parts.length) return false;
      if (levels[i] !== '+' && levels[i] !== parts[i]) return false;
    }
    return parts.length === levels.length;
  };
  const level = fc.constantFrom('a', 'b', 'ab', '', '$sys');
  it('matches exactly when the reference does, for any topic and valid filter', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.array(level, { minLength: 1, maxLength: 5 }),
        (filterLevels, hash, topicLevels) => {
          const filter = [...filterLevels, ...(hash ? ['#'] : [])].join('/');
          const topic = topicLevels.join('/');
          expect(compileTopicFilter(filter)(topic)).toBe(reference(filter, topic));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('filterCovers', () => {
  it('says whether one filter matches every topic the other does', () => {
    expect(filterCovers('fleet/#', 'fleet/+/telemetry')).toBe(true);
    expect(filterCovers('fleet/#', 'fleet')).toBe(true);
    expect(filterCovers('fleet/+/telemetry', 'fleet/a1/telemetry')).toBe(true);
    expect(filterCovers('#', 'fleet/+/x')).toBe(true);
    expect(filterCovers('a/b', 'a/b')).toBe(true);
    expect(filterCovers('fleet/+/telemetry', 'fleet/#')).toBe(false);
    expect(filterCovers('fleet/+/telemetry', 'fleet/+/alerts')).toBe(false);
    expect(filterCovers('fleet/+', 'fleet/+/x')).toBe(false);
    expect(filterCovers('fleet/+/x', 'fleet/+')).toBe(false);
    expect(filterCovers('a/+/c', 'a/b/+')).toBe(false); // they overlap, neither covers the other
    expect(filterCovers('#', '$SYS/broker/uptime')).toBe(false);
    expect(filterCovers('+/broker/uptime', '$SYS/broker/uptime')).toBe(false);
  });

  it('is never true when a topic matches the inner filter but not the outer one', () => {
    const level = fc.constantFrom('a', 'b', '$x', '');
    const filterLevel = fc.constantFrom('a', 'b', '$x', '', '+');
    const filter = fc.tuple(fc.array(filterLevel, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([ls, hash]) => [...ls, ...(hash ? ['#'] : [])].join('/'));
    const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('/'));
    fc.assert(
      fc.property(fc.oneof(filter, fc.constant('#')), filter, fc.array(topic, { minLength: 1, maxLength: 20 }), (outer, inner, topics) => {
        if (!filterCovers(outer, inner)) return;
        for (const t of topics) if (topicMatches(inner, t)) expect(topicMatches(outer, t)).toBe(true);
      }),
    );
  });
});
