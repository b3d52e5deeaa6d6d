/**
 * Where to go after a page: the `Links` rules of reference/telematics.md §2.3 and §4.3. Stop when
 * `self` equals `last`; else follow `next`; without it, step one page towards `last` (page numbers
 * read from the hrefs, 0- or 1-based alike); stop when an href repeats or nothing points on.
 * Relative hrefs resolve against the page's own URL. Pure.
 * @module
 */
import type { AempLink } from './aemp-parser.js';

export type WalkStop = 'last-page' | 'no-next' | 'repeated-href';

export type NextStep =
  | { readonly kind: 'next'; readonly url: string; readonly how: 'next' | 'derived-from-last' | 'jump-to-last' }
  | { readonly kind: 'stop'; readonly reason: WalkStop };

/** Absolute form of `href` against `base`; undefined when it is not a URL at all. */
export function resolveHref(href: string, base: string): string | undefined {
  try {
    return new URL(href.trim(), base).toString();
  } catch {
    return undefined;
  }
}

/** The comparison form of a URL: absolute, without fragment. */
export function canonicalUrl(url: string): string {
  const u = new URL(url);
  u.hash = '';
  return u.toString();
}

function linkOf(links: readonly AempLink[], rel: string, base: string): string | undefined {
  const link = links.find((l) => l.rel.toLowerCase() === rel);
  return link === undefined ? undefined : resolveHref(link.href, base);
}

/**
 * The URL one page after `self` when `self` and `last` differ in exactly one numeric path segment
 * (`.../Fleet/3?x` and `.../Fleet/9?x` → `.../Fleet/4?x`); undefined when that cannot be read.
 */
export function stepTowardsLast(self: string, last: string): string | undefined {
  const a = new URL(self);
  const b = new URL(last);
  if (a.origin !== b.origin || a.search !== b.search) return undefined;
  const sa = a.pathname.split('/');
  const sb = b.pathname.split('/');
  if (sa.length !== sb.length) return undefined;
  let index = -1;
  for (let i = 0; i < sa.length; i++) {
    if (sa[i] === sb[i]) continue;
    if (index !== -1 || !/^\d+$/.test(sa[i] ?? '') || !/^\d+$/.test(sb[i] ?? '')) return undefined;
    index = i;
  }
  if (index === -1) return undefined;
  const current = Number(sa[index]);
  if (current >= Number(sb[index])) return undefined;
  sa[index] = String(current + 1);
  a.pathname = sa.join('/');
  return a.toString();
}

/**
 * Decide the step after the page fetched from `pageUrl` with `links`. `visited` holds the canonical
 * URLs already fetched in this walk (including `pageUrl`).
 */
export function nextStep(links: readonly AempLink[], pageUrl: string, visited: ReadonlySet<string>): NextStep {
  const self = linkOf(links, 'self', pageUrl) ?? pageUrl;
  const last = linkOf(links, 'last', pageUrl);
  const next = linkOf(links, 'next', pageUrl);
  const seen = (u: string): boolean => visited.has(canonicalUrl(u));
  if (last !== undefined && (canonicalUrl(self) === canonicalUrl(last) || canonicalUrl(pageUrl) === canonicalUrl(last))) {
    return { kind: 'stop', reason: 'last-page' };
  }
  if (next !== undefined) {
    if (seen(next)) return { kind: 'stop', reason: 'repeated-href' };
    return { kind: 'next', url: next, how: 'next' };
  }
  if (last === undefined) return { kind: 'stop', reason: 'no-next' };
  const derived = stepTowardsLast(self, last) ?? stepTowardsLast(pageUrl, last);
  if (derived !== undefined) return seen(derived) ? { kind: 'stop', reason: 'repeated-href' } : { kind: 'next', url: derived, how: 'derived-from-last' };
  if (seen(last)) return { kind: 'stop', reason: 'repeated-href' };
  return { kind: 'next', url: last, how: 'jump-to-last' };
}

/**
 * The links of a JSON page read without the full AEMP parse (a `JSON.parse` and a key lookup), so
 * the next page can be requested while this one is still being parsed. Undefined when the body is
 * not JSON or its links are not plain `{rel, href}` entries (then the full parse decides).
 */
export function peekJsonLinks(body: string): AempLink[] | undefined {
  const start = body.trimStart();
  if (!start.startsWith('{')) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(start);
  } catch {
    return undefined;
  }
  const field = (node: unknown, name: string): unknown => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    const key = Object.keys(node).find((k) => k.toLowerCase() === name);
    return key === undefined ? undefined : (node as Record<string, unknown>)[key];
  };
  const raw = field(doc, 'links') ?? field(field(doc, 'fleet'), 'links');
  if (raw === undefined) return undefined;
  const links: AempLink[] = [];
  for (const entry of Array.isArray(raw) ? raw : [raw]) {
    const rel = field(entry, 'rel');
    const href = field(entry, 'href');
    if (typeof rel !== 'string' || typeof href !== 'string') return undefined;
    links.push({ rel: rel.trim().toLowerCase(), href: href.trim() });
  }
  return links;
}
