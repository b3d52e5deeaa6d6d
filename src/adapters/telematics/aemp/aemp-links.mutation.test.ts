/**
 * Mutation-audit tests for link following: a wrong `self` link on the last page, and a `last` link
 * already read when page numbers cannot be read.
 */
import { describe, expect, it } from 'vitest';
import { canonicalUrl, nextStep } from './aemp-links.js';

const BASE = 'https://iris.trackunit.com/public/api/aemp/v2/15143/-3';
const page = (n: number) => `${BASE}/Fleet/${n}?addMetadata=true`;
const visited = (...urls: string[]) => new Set(urls.map(canonicalUrl));

describe('nextStep (mutation audit)', () => {
  // Kills: the request URL no longer compared with `last` (a stale `self` sends the walk back a page).
  it('stops on the page it asked for when that is the last page, even if its self link is wrong', () => {
    const links = [
      { rel: 'self', href: page(1) },
      { rel: 'last', href: page(3) },
    ];
    expect(nextStep(links, page(3), visited(page(1), page(2), page(3)))).toEqual({ kind: 'stop', reason: 'last-page' });
    expect(nextStep(links, page(3), visited(page(3)))).toEqual({ kind: 'stop', reason: 'last-page' });
  });

  // Kills: jumping to a `last` page already read when page numbers cannot be read from the hrefs.
  it('does not jump to a last page it already read', () => {
    const last = `${BASE}/Fleet?cursor=zzz`;
    const here = `${BASE}/Fleet?cursor=bbb`;
    const links = [
      { rel: 'self', href: here },
      { rel: 'last', href: last },
    ];
    expect(nextStep(links, here, visited(`${BASE}/Fleet?cursor=aaa`, last, here))).toEqual({ kind: 'stop', reason: 'repeated-href' });
  });
});
