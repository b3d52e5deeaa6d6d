/**
 * Alert rules: fault codes (ISO 15143-3 `FaultCode`, or `alert` events from any source) open work
 * orders. Machines keep reporting an active fault, so one work order covers an episode: the code's
 * reports with no gap of `cooldown` or more between them. The occurrence is the code and the time
 * of the episode's first report (`SPN100-FMI1@2026-10-01T09:00:00.000Z`); the maintenance rule
 * feeds reports in event-time order, so any arrival order within the allowed lateness gives the
 * same episodes and keys.
 * @module
 */
import type { Severity } from '../../model/events.js';
import type { AlertRule } from './types.js';

/** One fault's current episode: its first and latest report (event time). */
export interface AlertEpisode {
  readonly start: number;
  readonly last: number;
}

/** Episodes per code key, for one rule. */
export type AlertEpisodes = Readonly<Record<string, AlertEpisode>>;

const RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };
/**
 * Episodes remembered per asset and rule. Only episodes still within their cooldown are kept (the
 * others are dropped first), so the cap bites only when this many distinct faults of one asset are
 * active at once: then the one reported longest ago is forgotten, and its next report within the
 * cooldown opens a second work order. A machine with a bus fault can raise dozens of codes at once,
 * hence a cap well above that (a few tens of kilobytes of state at most).
 */
export const MAX_EPISODES = 500;

/** Does this rule take an alert of this severity and code? */
export function alertMatches(rule: AlertRule, severity: Severity, code: string | undefined): boolean {
  if (RANK[severity] < RANK[rule.minSeverity]) return false;
  if (!rule.codes) return true;
  if (code === undefined) return false;
  return rule.codes.some((p) => (p.endsWith('*') ? code.startsWith(p.slice(0, -1)) : code === p));
}

/**
 * The fault as it appears in business keys: its code (else its text), with anything but letters,
 * digits and `. _ : / -` replaced by `_`, at most 60 characters (keys never hold `|`).
 */
export function alertKey(code: string | undefined, reason: string): string {
  const text = (code ?? reason).trim().slice(0, 60).replace(/[^A-Za-z0-9._:/-]/g, '_');
  return text === '' ? 'alert' : text;
}

/**
 * A report of `key` at `t` (reports come in event-time order): the episodes after it, and whether
 * it starts a new episode (a new work order). Episodes whose cooldown has run out are dropped.
 */
export function stepAlert(episodes: AlertEpisodes | undefined, key: string, t: number, cooldownMs: number): { episodes: AlertEpisodes; opens: boolean } {
  const current = episodes?.[key];
  if (current !== undefined && t - current.last < cooldownMs) {
    if (t <= current.last) return { episodes: episodes as AlertEpisodes, opens: false };
    return { episodes: { ...episodes, [key]: { start: current.start, last: t } }, opens: false };
  }
  const kept = Object.entries(episodes ?? {}).filter(([k, e]) => k !== key && t - e.last < cooldownMs);
  if (kept.length >= MAX_EPISODES) kept.sort((x, y) => x[1].last - y[1].last).splice(0, kept.length - MAX_EPISODES + 1);
  return { episodes: { ...Object.fromEntries(kept), [key]: { start: t, last: t } }, opens: true };
}
