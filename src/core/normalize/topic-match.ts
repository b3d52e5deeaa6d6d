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
