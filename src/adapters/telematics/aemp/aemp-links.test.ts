import { describe, expect, it } from 'vitest';
import { canonicalUrl, nextStep, stepTowardsLast } from './aemp-links.js';

const BASE = 'https://iris.trackunit.com/public/api/aemp/v2/15143/-3';
const page = (n: number, q = '?addMetadata=true') => `${BASE}/Fleet/${n}${q}`;
const visited = (...urls: string[]) => new Set(urls.map(canonicalUrl));

describe('nextStep', () => {
  it('follows next', () => {
    const links = [
      { rel: 'self', href: page(1) },
      { rel: 'next', href: page(2) },
      { rel: 'last', href: page(3) },
    ];
    expect(nextStep(links, page(1), visited(page(1)))).toEqual({ kind: 'next', url: page(2), how: 'next' });
  });

  it('stops when self equals last, even if a next link is present', () => {
    const links = [
      { rel: 'self', href: page(3) },
      { rel: 'next', href: page(4) },
      { rel: 'last', href: page(3) },
    ];
    expect(nextStep(links, page(3), visited(page(3)))).toEqual({ kind: 'stop', reason: 'last-page' });
  });

  it('without next, steps one page towards last (1-based and 0-based alike)', () => {
    expect(nextStep([{ rel: 'self', href: page(1) }, { rel: 'last', href: page(4) }], page(1), visited(page(1)))).toEqual({ kind: 'next', url: page(2), how: 'derived-from-last' });
    expect(nextStep([{ rel: 'self', href: page(0) }, { rel: 'last', href: page(2) }], page(0), visited(page(0)))).toEqual({ kind: 'next', url: page(1), how: 'derived-from-last' });
  });

  it('without next and self, uses the request URL as self', () => {
    expect(nextStep([{ rel: 'last', href: page(2) }], page(1), visited(page(1)))).toMatchObject({ kind: 'next', url: page(2) });
    expect(nextStep([{ rel: 'last', href: page(2) }], page(2), visited(page(2)))).toEqual({ kind: 'stop', reason: 'last-page' });
  });

  it('jumps to last when page numbers cannot be read from the hrefs', () => {
    const last = `${BASE}/Fleet?cursor=zzz`;
    expect(nextStep([{ rel: 'self', href: `${BASE}/Fleet?cursor=aaa` }, { rel: 'last', href: last }], `${BASE}/Fleet?cursor=aaa`, visited())).toEqual({ kind: 'next', url: last, how: 'jump-to-last' });
  });

  it('stops when no link points on', () => {
    expect(nextStep([{ rel: 'self', href: page(1) }], page(1), visited(page(1)))).toEqual({ kind: 'stop', reason: 'no-next' });
    expect(nextStep([], page(1), visited(page(1)))).toEqual({ kind: 'stop', reason: 'no-next' });
  });

  it('stops when an href repeats (a next that points back)', () => {
    const links = [
      { rel: 'self', href: page(2) },
      { rel: 'next', href: page(1) },
      { rel: 'last', href: page(5) },
    ];
    expect(nextStep(links, page(2), visited(page(1), page(2)))).toEqual({ kind: 'stop', reason: 'repeated-href' });
  });

  it('resolves relative hrefs against the page URL', () => {
    const links = [
      { rel: 'self', href: '1?addMetadata=true' },
      { rel: 'next', href: '2?addMetadata=true' },
      { rel: 'last', href: '/public/api/aemp/v2/15143/-3/Fleet/3?addMetadata=true' },
    ];
    expect(nextStep(links, page(1), visited(page(1)))).toEqual({ kind: 'next', url: page(2), how: 'next' });
    expect(nextStep([{ rel: 'last', href: '3?addMetadata=true' }], page(3), visited(page(3)))).toEqual({ kind: 'stop', reason: 'last-page' });
  });

  it('treats a fragment-only difference as the same URL', () => {
    expect(nextStep([{ rel: 'next', href: `${page(1)}#x` }], page(1), visited(page(1)))).toEqual({ kind: 'stop', reason: 'repeated-href' });
  });
});

describe('stepTowardsLast', () => {
  it('increments the one numeric segment that differs, keeping the query', () => {
    expect(stepTowardsLast(`${BASE}/Fleet/Equipment/ID/PIN1/Locations/2025-01-01T00%3A00%3A00Z/2025-02-01T00%3A00%3A00Z/1`, `${BASE}/Fleet/Equipment/ID/PIN1/Locations/2025-01-01T00%3A00%3A00Z/2025-02-01T00%3A00%3A00Z/7`)).toBe(
      `${BASE}/Fleet/Equipment/ID/PIN1/Locations/2025-01-01T00%3A00%3A00Z/2025-02-01T00%3A00%3A00Z/2`,
    );
    expect(stepTowardsLast(page(9), page(9))).toBeUndefined();
    expect(stepTowardsLast(page(5), page(3))).toBeUndefined();
    expect(stepTowardsLast(page(1, '?a=1'), page(3, '?a=2'))).toBeUndefined();
  });
});
