/**
 * MQTT topic filters (MQTT 3.1.1 §4.7, MQTT 5 §4.7–4.8): `+` matches exactly one level, `#` matches
 * the parent level and everything below it, and a filter starting with a wildcard does not match
 * topics starting with `$` (broker-internal topics such as `$SYS`). Shared-subscription filters
 * (`$share/<group>/<filter>`) match like `<filter>`. Pure.
 * @module
 */

const SHARE_PREFIX = '$share/';

/** `$share/group/fleet/+/x` → `fleet/+/x`; any other filter unchanged. */
export function stripSharePrefix(filter: string): string {
  if (!filter.startsWith(SHARE_PREFIX)) return filter;
  const groupEnd = filter.indexOf('/', SHARE_PREFIX.length);
  return groupEnd === -1 ? filter : filter.slice(groupEnd + 1);
}

/**
 * Why a topic filter is not valid, or undefined when it is. Used by the config schema so a typo
 * is reported at startup rather than as a broker refusal.
 */
export function topicFilterProblem(filter: string): string | undefined {
  let plain = filter;
  if (filter.startsWith(SHARE_PREFIX)) {
    const groupEnd = filter.indexOf('/', SHARE_PREFIX.length);
    const group = groupEnd === -1 ? '' : filter.slice(SHARE_PREFIX.length, groupEnd);
    if (group === '' || /[+#]/.test(group)) return `shared subscription "${filter}" needs the form $share/<group>/<filter> with a group name without + or #`;
    plain = filter.slice(groupEnd + 1);
  }
  if (plain === '') return 'topic filter is empty';
  if (plain.includes('\u0000')) return 'topic filter must not contain a NUL character';
  const levels = plain.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1))
      return `"#" must be a whole level and the last one (e.g. "fleet/#"), got "${filter}"`;
    if (level.includes('+') && level !== '+') return `"+" must be a whole level (e.g. "fleet/+/telemetry"), got "${filter}"`;
  }
  return undefined;
}

/** A compiled topic filter: returns whether a concrete topic (no wildcards) matches. */
export type TopicMatcher = (topic: string) => boolean;

/** Compiles a filter once for repeated matching; `$share/<group>/` is stripped first. */
export function compileTopicFilter(filter: string): TopicMatcher {
  const levels = stripSharePrefix(filter).split('/');
  const startsWithWildcard = levels[0] === '+' || levels[0] === '#';
  // Walks the topic level by level without splitting it: this runs for every message.
  return (topic: string): boolean => {
    if (startsWithWildcard && topic.startsWith('$')) return false;
    let pos = 0; // start of the next level; past the end when the topic has no more levels
    for (const level of levels) {
      if (level === '#') return true; // also matches the parent: "a/#" matches "a"
      if (pos > topic.length) return false;
      let end = topic.indexOf('/', pos);
      if (end === -1) end = topic.length;
      if (level !== '+' && (end - pos !== level.length || !topic.startsWith(level, pos))) return false;
      pos = end + 1;
    }
    return pos > topic.length;
  };
}

/** Whether `topic` matches `filter`. Compile with {@link compileTopicFilter} when matching often. */
export function topicMatches(filter: string, topic: string): boolean {
  return compileTopicFilter(filter)(topic);
}

/**
 * Whether every topic `inner` matches is also matched by `outer` (`fleet/#` covers
 * `fleet/+/telemetry`). Plain filters, without `$share/`. It answers false when unsure, never
 * true wrongly: a covered filter is not subscribed (see the MQTT source), so a wrong true would
 * lose the messages only `inner` matches.
 */
export function filterCovers(outer: string, inner: string): boolean {
  const a = outer.split('/');
  const b = inner.split('/');
  // A filter starting with a wildcard does not match `$` topics, which a literal `$SYS/...` does.
  if ((a[0] === '+' || a[0] === '#') && b[0] !== '+' && b[0] !== '#' && b[0]?.startsWith('$') === true) return false;
  for (let i = 0; ; i++) {
    const x = a[i];
    const y = b[i];
    if (x === '#') return true; // also the parent level, so `inner` may have ended here
    if (y === undefined) return x === undefined;
    if (x === undefined || y === '#') return false;
    if (x !== '+' && (y === '+' || x !== y)) return false;
  }
}

/**
 * The filter matching exactly the topics both filters match (`fleet/+/position` and `fleet/t1/+`:
 * `fleet/t1/position`), or undefined when no topic matches both. Plain filters, without `$share/`.
 */
export function filterIntersection(a: string, b: string): string | undefined {
  const x = a.split('/');
  const y = b.split('/');
  // A filter starting with a wildcard does not match `$` topics, which a literal `$SYS/...` is.
  const dollarOnly = (p: string[], q: string[]) => (p[0] === '+' || p[0] === '#') && q[0] !== '+' && q[0] !== '#' && q[0]?.startsWith('$') === true;
  if (dollarOnly(x, y) || dollarOnly(y, x)) return undefined;
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    // `#` also matches the parent level, so the other filter may end here.
    if (p === '#') return [...out, ...y.slice(i)].join('/');
    if (q === '#') return [...out, ...x.slice(i)].join('/');
    if (p === undefined || q === undefined) return p === q ? out.join('/') : undefined;
    if (p === '+') out.push(q);
    else if (q === '+' || p === q) out.push(p);
    else return undefined;
  }
}

/**
 * Of two filters that overlap ({@link filterIntersection}), the narrowest of their shape that
 * covers both (`fleet/+/position` and `fleet/t1/+`: `fleet/+/+`; `fleet/a` and `fleet/a/b/#`:
 * `fleet/a/#`). Plain filters, without `$share/`.
 */
export function filterUnion(a: string, b: string): string {
  const x = a.split('/');
  const y = b.split('/');
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === undefined && q === undefined) return out.join('/');
    if (p === undefined || q === undefined || p === '#' || q === '#') return [...out, '#'].join('/');
    out.push(p === q ? p : '+');
  }
}

/** The filter as subscribed: `$share/<group>/<filter>` when the source has a share group and the filter none of its own. */
export function withShareGroup(filter: string, group: string | undefined): string {
  return group !== undefined && !filter.startsWith(SHARE_PREFIX) ? `${SHARE_PREFIX}${group}/${filter}` : filter;
}

/** `$share/g/a/+` → ['g', 'a/+']; a plain filter has no group. */
function splitShare(full: string): [group: string | undefined, filter: string] {
  const plain = stripSharePrefix(full);
  return plain === full ? [undefined, full] : [full.slice(SHARE_PREFIX.length, full.length - plain.length - 1), plain];
}

/**
 * Of one client's filters as subscribed (`$share/<group>/` kept), those another one in the same
 * share group covers (`fleet/+/telemetry` beside `fleet/#`): the MQTT source does not subscribe
 * them, because a broker may send a message once per matching subscription (Mosquitto does with
 * MQTT 5). Of filters covering each other (the same filter twice), the first stays.
 */
export function coveredFilters(filters: readonly string[]): Set<string> {
  const parsed = [...new Set(filters)].map((full) => ({ full, share: splitShare(full) }));
  const covers = (o: (typeof parsed)[number], i: (typeof parsed)[number]) => o.share[0] === i.share[0] && filterCovers(o.share[1], i.share[1]);
  return new Set(parsed.filter((inner, i) => parsed.some((outer, o) => o !== i && covers(outer, inner) && (o < i || !covers(inner, outer)))).map((p) => p.full));
}
