import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileTopicFilter, coveredFilters, filterCovers, filterIntersection, filterUnion, stripSharePrefix, topicFilterProblem, topicMatches, withShareGroup } from './topic-match.js';

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

/** Random filters and topics over a few levels, `$` and empty ones included. */
const anyLevel = fc.constantFrom('a', 'b', '$x', '');
const anyFilterLevel = fc.constantFrom('a', 'b', '$x', '', '+');
const randomFilter = fc.oneof(
  fc.tuple(fc.array(anyFilterLevel, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([ls, hash]) => [...ls, ...(hash ? ['#'] : [])].join('/')),
  fc.constant('#'),
);
const randomTopics = fc.array(fc.array(anyLevel, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('/')), { minLength: 1, maxLength: 30 });

describe('filterIntersection: the topics two filters both match', () => {
  it('gives the filter of exactly the topics both match, or undefined when they share none', () => {
    expect(filterIntersection('fleet/+/position', 'fleet/t1/+')).toBe('fleet/t1/position');
    expect(filterIntersection('a/+/+/d', 'a/b/#')).toBe('a/b/+/d');
    expect(filterIntersection('a/#', 'a')).toBe('a');
    expect(filterIntersection('#', '+/x')).toBe('+/x');
    expect(filterIntersection('a/+', 'b/+')).toBeUndefined();
    expect(filterIntersection('a/+', 'a/+/c')).toBeUndefined();
    expect(filterIntersection('+/broker/uptime', '$SYS/broker/+')).toBeUndefined();
    expect(filterIntersection('#', '$SYS/#')).toBeUndefined();
  });

  it('agrees with matching each topic against both filters', () => {
    fc.assert(
      fc.property(randomFilter, randomFilter, randomTopics, (a, b, topics) => {
        const both = filterIntersection(a, b);
        for (const t of topics) expect(both !== undefined && topicMatches(both, t)).toBe(topicMatches(a, t) && topicMatches(b, t));
      }),
    );
  });
});

describe('filterUnion: a filter covering two that overlap', () => {
  it('keeps the levels they share and widens the others', () => {
    expect(filterUnion('fleet/+/position', 'fleet/t1/+')).toBe('fleet/+/+');
    expect(filterUnion('fleet/a', 'fleet/a/b/#')).toBe('fleet/a/#');
    expect(filterUnion('a/b', 'a/b')).toBe('a/b');
  });

  it('matches every topic either of two overlapping filters matches', () => {
    fc.assert(
      fc.property(randomFilter, randomFilter, randomTopics, (a, b, topics) => {
        if (filterIntersection(a, b) === undefined) return;
        const union = filterUnion(a, b);
        for (const t of topics) if (topicMatches(a, t) || topicMatches(b, t)) expect(topicMatches(union, t)).toBe(true);
      }),
    );
  });
});

describe('coveredFilters: what a source does not subscribe', () => {
  it('leaves out a filter another one in the same share group covers; of the same filter twice, the later', () => {
    expect([...coveredFilters(['fleet/+/t', 'fleet/#', 'yard/+', 'fleet/+/t'])]).toEqual(['fleet/+/t']);
    expect([...coveredFilters(['$share/g/fleet/+/t', '$share/g/fleet/#', '$share/h/yard/+', 'yard/#'])]).toEqual(['$share/g/fleet/+/t']);
    expect(withShareGroup('fleet/#', 'g')).toBe('$share/g/fleet/#');
    expect(withShareGroup('$share/h/fleet/#', 'g')).toBe('$share/h/fleet/#');
    expect(withShareGroup('fleet/#', undefined)).toBe('fleet/#');
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
