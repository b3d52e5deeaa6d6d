/**
 * Alert rules: fault codes (ISO 15143-3 `FaultCode`, or `alert` events from any source) open work
 * orders. Machines keep reporting an active fault, so one work order covers an episode: the code's
 * reports with no gap of `cooldown` or more between them. The occurrence is the code and the time
 * of the episode's first report (`SPN100-FMI1@2026-10-01T09:00:00.000Z`; a fault with no code: its
 * text as compared, {@link textKey}); the maintenance rule
 * feeds reports in event-time order, so any arrival order within the allowed lateness gives the
 * same episodes and keys. A report older than that (a feed pulled behind the others) is judged
 * against its own fault's episodes ({@link lateVerdict}): taken where it decides as it would
 * have in event-time order, else dropped as late. A rule without a `severity` of its own takes its
 * work order's priority from the report that opens the episode; a later `critical` report of an
 * episode opened at MEDIUM raises it once ({@link escalates}: a `workorder.update`), unless the ERP
 * had reported that work order completed or cancelled by then.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Severity, WorkOrderStatus } from '../../model/events.js';
import type { AlertRule } from './types.js';
import { priorityOf } from './work-order.js';

/**
 * One fault's current episode: its first and latest report (event time). The overflow episode
 * ({@link OVERFLOW_KEY}) also tells the distinct faults it took apart (`f`, see {@link overflowFaults}).
 */
export interface AlertEpisode {
  readonly start: number;
  readonly last: number;
  /**
   * The overflow episode: a short hash of each distinct fault it took ({@link OVERFLOW_HASH} hex
   * digits of the SHA-256 of its key), at most {@link MAX_EPISODES}; faults beyond those set `more`.
   */
  readonly f?: readonly string[];
  /** The overflow episode took more distinct faults than `f` holds (or some before `f` was kept). */
  readonly more?: true;
  /** State from before `f`: the reports (not the faults) the overflow episode took. */
  readonly n?: number;
  /**
   * The ERP's latest status of the episode's work order and its event time, once it reported one:
   * kept with the episode (bounded as episodes are), so status shows it for every fault still
   * active, also when the work order's own record was forgotten (`keepClosed`).
   */
  readonly w?: readonly [WorkOrderStatus, number];
  /**
   * The severity its work order was sent with, where a later report can raise its priority: kept
   * for a rule without a `severity` of its own whose episode opened below `critical` (MEDIUM), and
   * set to `critical` when a `workorder.update` raised it to HIGH (see {@link escalates}). Absent:
   * never raised (opened HIGH, a rule with its own severity, or state from before this was kept,
   * whose work order's priority is not known: its next episode is raised as any).
   */
  readonly s?: Severity;
  /**
   * A fault with no code: its text as first reported in the episode, for `maintenance status` and
   * `rules test` to show (its key is a hash): see {@link faultText}. Absent for a fault with a code,
   * the overflow episode, and state from before this was kept (status shows the key then).
   */
  readonly r?: string;
}

/** Episodes per code key, for one rule. */
export type AlertEpisodes = Readonly<Record<string, AlertEpisode>>;

/**
 * The episode of the faults past {@link MAX_EPISODES}, in a rule's episodes: a key no fault has
 * (alertKey replaces `~`), and its work order's occurrence is `~overflow@<its first report>`.
 */
export const OVERFLOW_KEY = '~overflow';

const RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };
/**
 * Faults told apart per asset and rule, at once. Only episodes still within their cooldown are
 * kept, and one within it is never forgotten: forgotten, its next report would open a second work
 * order for the same fault. So when this many distinct faults of one asset are active at once, a
 * further fault is not tracked on its own: it starts (or joins) the rule's overflow episode, which
 * opens one "too many active faults" work order, and every fault not tracked on its own joins it
 * until none has been reported for the cooldown (a fault it took, reported again, finds it still
 * going, so it never opens a work order of its own while that fault's episode lasts). A machine
 * with a bus fault can raise dozens of codes at once, hence a cap well above that (a few tens of
 * kilobytes of state at most).
 */
export const MAX_EPISODES = 500;

/**
 * A fault code as alert rules compare it: in Unicode NFKC form (a full-width `Ｐ０１２３` is
 * `P0123`, a decomposed `é` the composed one), trimmed, its letters a–z in upper case (`spn100-fmi1 `
 * is `SPN100-FMI1`, the spelling J1939 and ISO 15143-3 feeds mostly send, so such a code keys its
 * work orders as it always did). undefined for no code or a blank one (a feed's empty field).
 */
export function canonicalCode(code: string | undefined): string | undefined {
  return canonicalCodeBefore(code?.normalize('NFKC'));
}

/** A fault code as compared before codes were compared in their NFKC form ({@link canonicalCode}): trimmed, a–z in upper case. */
function canonicalCodeBefore(code: string | undefined): string | undefined {
  if (code === undefined) return undefined;
  const t = code.trim();
  return t === '' ? undefined : t.replace(/[a-z]+/g, (s) => s.toUpperCase());
}

/**
 * The text of a fault with no code as alert rules compare it: in Unicode NFKC form (`é` composed or
 * as `e` and a combining accent, full-width `ＯＩＬ` or `OIL`, are one spelling), trimmed, each run of
 * whitespace in it one space, in lower case (locale-independent: `Low oil pressure`, `low oil
 * pressure` and `Low  oil pressure ` from two feeds, or one feed's firmware before and after an
 * update, are one fault). Only for its key (see {@link textKey}): its work orders show the text as reported.
 */
export function canonicalText(text: string): string {
  return canonicalTextBefore(text.normalize('NFKC'));
}

/** A fault's text as compared before texts were compared in their NFKC form ({@link canonicalText}). */
function canonicalTextBefore(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * The key of a fault with no code: its text as compared ({@link canonicalText}), made safe for keys
 * as {@link alertKey} makes a code and cut to 47 characters, then `-` and 12 hex digits of the
 * SHA-256 of `text:` and that text, always (`low_oil_pressure-…`, `overheat-…`): no code's key (a
 * code cut with the same hash would be `text:…`, with letters a–z, which no code as compared has; a
 * code kept whole would have to be spelt as this very key), so a fault with no code shares no code's
 * episode, and a rule's `codes` and `codeMap` never take it. `alert` for no text, as before.
 */
export function textKey(text: string): string {
  return keyOfText(canonicalText(text));
}

/** The key of a fault with no code whose text as compared is `t` ({@link textKey}). */
function keyOfText(t: string): string {
  if (t === '') return 'alert';
  const hash = createHash('sha256').update(Buffer.from(`text:${t}`, 'utf16le')).digest('hex').slice(0, KEY_HASH);
  return `${t.slice(0, KEY_MAX - KEY_HASH - 1).replace(/[^A-Za-z0-9._:/-]/g, '_')}-${hash}`;
}

/**
 * The key of the episode a report of a fault with no code belongs to (see {@link episodeKey}):
 * {@link textKey}, unless no episode of it is kept within the cooldown while one of the same fault
 * is kept under a key an earlier version gave its text: trimmed, as reported (`alertKey(undefined,
 * text)`), or as compared before texts were compared in their NFKC form (the key of the text not
 * normalised, where normalising changes it), or under another spelling of a one-word text
 * (`Overheat` for `OVERHEAT`, only a key with a letter a–z and no hash, which no code as compared
 * has): that episode goes on, so an upgrade opens no second work order for a fault already open.
 */
export function textEpisodeKey(episodes: AlertEpisodes | undefined, text: string, t: number, cooldownMs: number): { readonly key: string; readonly into: string; readonly ofFault: (k: string) => boolean } {
  const compared = canonicalText(text);
  const key = keyOfText(compared);
  const before = canonicalTextBefore(text);
  const legacy = before === compared ? [alertKey(undefined, text)] : [alertKey(undefined, text), keyOfText(before)];
  // An earlier version's key of a one-word text: the text itself (one ending in a hash is no such key).
  const sameFault = (k: string): boolean => /[a-z]/.test(k) && !HASHED.test(k) && canonicalText(k) === compared;
  return { key, into: episodeKey(episodes, key, t, cooldownMs, legacy, sameFault), ofFault: (k) => k === key || legacy.includes(k) || sameFault(k) };
}

/** The most characters of a fault's text an episode keeps ({@link AlertEpisode.r}): the state is checkpointed, and holds up to {@link MAX_EPISODES} episodes per rule. */
export const FAULT_TEXT_MAX = 120;

/**
 * The text of a fault with no code as its episode keeps it to show ({@link AlertEpisode.r}): as
 * reported, trimmed, each run of whitespace one space (status shows it on one line), cut to
 * {@link FAULT_TEXT_MAX} characters ending in `…` when longer (never within a surrogate pair).
 * undefined for a blank text.
 */
export function faultText(text: string): string | undefined {
  const t = text.trim().replace(/\s+/g, ' ');
  if (t === '') return undefined;
  if (t.length <= FAULT_TEXT_MAX) return t;
  let end = FAULT_TEXT_MAX - 1;
  const last = t.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${t.slice(0, end)}…`;
}

/** The episodes with episode `into` showing `text` ({@link faultText}) when it has none and the text is not blank; else the same object. */
export function withFaultText(episodes: AlertEpisodes, into: string, text: string): AlertEpisodes {
  const e = episodes[into];
  const r = faultText(text);
  return e === undefined || e.r !== undefined || r === undefined ? episodes : { ...episodes, [into]: { ...e, r } };
}

/** The end of a key cut or made safe: `-` and {@link KEY_HASH} hex digits of a hash. */
const HASHED = /-[0-9a-f]{12}$/;

/** A rule's `codeMap` and `codes` as compared: canonical codes. */
interface Compiled {
  readonly map: ReadonlyMap<string, string> | undefined;
  /** Each code the map maps to: the spellings mapped to it. */
  readonly spellings: ReadonlyMap<string, readonly string[]>;
  readonly patterns: readonly { readonly text: string; readonly prefix: boolean }[] | undefined;
}
const compiled = new WeakMap<AlertRule, Compiled>();

function compiledOf(rule: AlertRule): Compiled {
  let c = compiled.get(rule);
  if (c === undefined) {
    const map = rule.codeMap === undefined ? undefined : new Map<string, string>();
    for (const [from, to] of Object.entries(rule.codeMap ?? {})) {
      const f = canonicalCode(from);
      const t = canonicalCode(to);
      if (f !== undefined && t !== undefined && !map?.has(f)) map?.set(f, t);
    }
    const patterns = rule.codes?.map((p) => {
      const text = canonicalCode(p) ?? '';
      return text.endsWith('*') ? { text: text.slice(0, -1), prefix: true } : { text, prefix: false };
    });
    const spellings = new Map<string, string[]>();
    for (const [from, to] of map ?? []) spellings.set(to, [...(spellings.get(to) ?? []), from]);
    c = { map, spellings, patterns };
    compiled.set(rule, c);
  }
  return c;
}

/**
 * The fault a rule takes a report of `code` for: the code as compared ({@link canonicalCode}),
 * then through the rule's `codeMap` (another feed's spelling of the same fault), once.
 * undefined for no code or a blank one.
 */
export function faultCode(rule: AlertRule, code: string | undefined): string | undefined {
  const c = canonicalCode(code);
  if (c === undefined || rule.codeMap === undefined) return c;
  return compiledOf(rule).map?.get(c) ?? c;
}

/**
 * The fault a rule took a report of `code` for before codes were compared in their NFKC form (see
 * {@link canonicalCode}): the code trimmed, a–z in upper case, through the first `codeMap` entry
 * spelt so. Where normalising changes nothing, {@link faultCode}.
 */
export function faultCodeBefore(rule: AlertRule, code: string | undefined): string | undefined {
  const c = canonicalCodeBefore(code);
  if (c === undefined || c === canonicalCode(code)) return faultCode(rule, code);
  for (const [from, to] of Object.entries(rule.codeMap ?? {})) {
    const mapped = canonicalCodeBefore(from) === c ? canonicalCodeBefore(to) : undefined;
    if (mapped !== undefined) return mapped;
  }
  return c;
}

/**
 * Does this rule take an alert of this severity and code? `codes` are compared as codes are
 * (trimmed, in any case), with the fault's code (as the rule's `codeMap` maps it) and each of its
 * spellings the map names: a fault is taken, or not, however a feed spells it.
 */
export function alertMatches(rule: AlertRule, severity: Severity, code: string | undefined): boolean {
  if (RANK[severity] < RANK[rule.minSeverity]) return false;
  if (!rule.codes) return true;
  const fault = faultCode(rule, code);
  if (fault === undefined) return false;
  const c = compiledOf(rule);
  const patterns = c.patterns ?? [];
  const takes = (x: string): boolean => patterns.some((p) => (p.prefix ? x.startsWith(p.text) : x === p.text));
  return takes(fault) || (c.spellings.get(fault)?.some(takes) ?? false);
}

/**
 * The key of the episode a report belongs to, for a rule whose faults are keyed `key` now: `key`
 * itself, unless no episode of it is kept within the cooldown while one of the same fault under
 * another spelling is (kept before codes were compared in any case, or in their NFKC form, or before
 * the rule's `codeMap` mapped it): the first of `legacy` (the keys earlier versions gave the report:
 * the code as reported, the code as compared before NFKC) kept, else a kept key `sameFault` takes
 * (the earliest started). So an upgrade, or a `codeMap` entry added, opens no second work order for
 * a fault already open; once that episode ends, the fault is keyed `key`.
 */
export function episodeKey(episodes: AlertEpisodes | undefined, key: string, t: number, cooldownMs: number, legacy: readonly string[], sameFault: (k: string) => boolean): string {
  if (episodes === undefined) return key;
  const within = (e: AlertEpisode | undefined): boolean => e !== undefined && (t - e.last < cooldownMs || e.last >= t);
  if (within(episodes[key])) return key;
  for (const l of legacy) if (l !== key && within(episodes[l])) return l;
  let found = key;
  let start = Infinity;
  for (const k in episodes) {
    if (k === key || k === OVERFLOW_KEY) continue;
    const e = episodes[k] as AlertEpisode;
    if (!within(e) || !sameFault(k)) continue;
    if (e.start < start || (e.start === start && k < found)) {
      found = k;
      start = e.start;
    }
  }
  return found;
}

/** The longest fault key; a longer code is cut, with its hash. */
const KEY_MAX = 60;
/** Hex digits of the code's hash a cut or sanitised key ends with. */
const KEY_HASH = 12;

/**
 * The fault as it appears in business keys: its code (else, or when blank, its text), trimmed (the
 * rules pass a code as compared, {@link faultCode}, and key a fault with no code {@link textKey};
 * of a code or text as reported, this is the key an earlier version gave the fault). A code of only
 * letters, digits and `. _ : / -`, at most 60 characters, is its own key. Any other has anything
 * else replaced by `_`, cut to 47 characters, and `-` and 12 hex digits of the SHA-256 of the
 * code as reported appended (60 characters at most), so codes that differ only in those characters
 * (`SPN 100`, `SPN_100`) or past the 60th are told apart (one work order each), the same in every
 * process. Keys never hold `|` (nor `~`, see {@link OVERFLOW_KEY}).
 */
export function alertKey(code: string | undefined, reason: string): string {
  // A blank code (a feed's empty field) is no code: faults of different texts stay apart.
  const raw = (code === undefined || code.trim() === '' ? reason : code).trim();
  if (raw === '') return 'alert';
  const text = raw.slice(0, KEY_MAX).replace(/[^A-Za-z0-9._:/-]/g, '_');
  if (text === raw) return text;
  // Over the UTF-16 code units, as reported: a lone surrogate is not turned into U+FFFD (and shared).
  const hash = createHash('sha256').update(Buffer.from(raw, 'utf16le')).digest('hex').slice(0, KEY_HASH);
  return `${text.slice(0, KEY_MAX - KEY_HASH - 1)}-${hash}`;
}

/**
 * The episodes with the ERP's `status` (at `at`, event time) of the work order of `fault`'s episode
 * that started at `start`, when that episode is still kept and the status is not older than the
 * one it holds (at the same time, a later stage wins); else the same object.
 */
export function withWorkOrderStatus(episodes: AlertEpisodes, fault: string, start: number, status: WorkOrderStatus, at: number): AlertEpisodes {
  const e = episodes[fault];
  if (e === undefined || e.start !== start) return episodes;
  // Completed stays completed: a cancellation does not override it, and it overrides a cancellation whatever their times (as the work order's record).
  if (e.w !== undefined && status === 'cancelled' && e.w[0] === 'completed') return episodes;
  const overCancelled = e.w !== undefined && status === 'completed' && e.w[0] === 'cancelled';
  if (e.w !== undefined && !overCancelled && (at < e.w[1] || (at === e.w[1] && STAGE[status] <= STAGE[e.w[0]]))) return episodes;
  return { ...episodes, [fault]: { ...e, w: [status, at] } };
}

const STAGE: Readonly<Record<WorkOrderStatus, number>> = { open: 1, 'in-progress': 2, completed: 3, cancelled: 3 };

/** Hex digits of a fault key's SHA-256 the overflow episode keeps to tell its faults apart (collisions: about 1 in 10^9 at 500 faults). */
export const OVERFLOW_HASH = 12;

/**
 * The distinct faults the overflow episode took, as far as it tells them apart: `count`, and
 * `atLeast` when it took more than it keeps (or is state from before it counted faults, `legacyReports`
 * then being the reports it had counted).
 */
export function overflowFaults(e: AlertEpisode): { readonly count: number; readonly atLeast: boolean; readonly legacyReports?: number } {
  if (e.f === undefined) return { count: 1, atLeast: true, ...(e.n !== undefined ? { legacyReports: e.n } : {}) };
  return { count: e.f.length, atLeast: e.more === true };
}

function faultHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, OVERFLOW_HASH);
}

/** The overflow episode `e` having taken a report of `key` at `t`: each distinct fault counted once, in bounded memory. */
function joinOverflow(e: AlertEpisode, key: string, t: number, max: number): AlertEpisode {
  const h = faultHash(key);
  // State from before faults were counted: the faults it took so far are unknown, hence "at least".
  const f = e.f ?? [];
  const more = e.more === true || e.f === undefined;
  const last = Math.max(t, e.last);
  const w = { ...(e.w !== undefined ? { w: e.w } : {}), ...(e.s !== undefined ? { s: e.s } : {}) };
  if (f.includes(h)) return { start: e.start, last, f, ...(more ? { more: true as const } : {}), ...w };
  if (f.length >= max) return { start: e.start, last, f, more: true, ...w };
  return { start: e.start, last, f: [...f, h], ...(more ? { more: true as const } : {}), ...w };
}

/**
 * The episodes without those that can no longer matter, given that no report older than `newest`
 * (the newest report any alert rule of the asset took) is taken from now on: an episode whose
 * last report is `cooldownMs` or more before it (any report of its fault to come starts a new
 * episode). The episode holding `newest` always stays: it is what tells older reports (see the
 * maintenance rule's `notOlderThanAlerts`); a report older than it is taken only where
 * {@link lateVerdict} (the latest forgotten report bounding it: {@link forgottenBounds}). The
 * same object when none lapsed.
 */
export function pruneLapsed(episodes: AlertEpisodes, newest: number, cooldownMs: number): AlertEpisodes {
  let lapsed = false;
  for (const k in episodes) {
    const e = episodes[k] as AlertEpisode;
    if (e.last < newest && newest - e.last >= cooldownMs) {
      lapsed = true;
      break;
    }
  }
  if (!lapsed) return episodes;
  const kept: Record<string, AlertEpisode> = {};
  for (const k in episodes) {
    const e = episodes[k] as AlertEpisode;
    if (!(e.last < newest && newest - e.last >= cooldownMs)) kept[k] = e;
  }
  return kept;
}

/**
 * Late-fault bounds of one rule, per fault key: a report of that fault older than the newest fault
 * taken is judged only from this time on (event time). Raised past the last report of an episode of
 * the fault forgotten (its cooldown run out, to keep the state bounded), plus the cooldown: a report
 * of it before then would have been of that episode; and past a report of it refused as late, plus
 * the cooldown (see {@link lateVerdict}). At most {@link LATE_FAULTS_KEPT} per rule: past those, the
 * lowest bound is the asset's (`from`), for every fault, as a bound of any forgotten fault is.
 */
export type LateBounds = Readonly<Record<string, number>>;

/** The faults a rule keeps a late bound of its own for ({@link LateBounds}); beyond, the lowest bound is every fault's. */
export const LATE_FAULTS_KEPT = 8;

/**
 * How a report at `t` of a fault keyed `key` (`ofFault`: the keys that are that fault, `key` and
 * the spellings its episode may be kept under, see {@link episodeKey}), older than the newest
 * fault the asset's alert rules took (a feed pulled behind the others), stands with a rule whose
 * episodes are `episodes` and late bounds `bounds`, `from` being the asset's bound for every fault:
 * - `fits`: it changes no decided episode, so it is taken exactly as in event-time order: it is not
 *   before `from` nor before its fault's own bound (no episode of its fault forgotten, nor one
 *   refused, within the cooldown before it); the rule has no overflow episode kept, and fewer than
 *   `max - 1` episodes kept or forgotten within their cooldown (taken in order, the fault would have
 *   counted towards the cap of every fault started in its cooldown); and its fault's episode kept,
 *   if any, did not start after `t` (a report within the episode, or after its last, goes on with
 *   it; a fault with no episode kept opens its work order, keyed by its own time);
 * - `own`: refused for being before its own fault's kept episode: any report of that fault before
 *   that episode's start is refused anyway, so it bounds nothing;
 * - `fault`: refused for its fault's own bound: its fault's reports within the cooldown after it
 *   would have been of the same episode, so they are not judged either (raise its bound);
 * - `all`: refused for the asset's bound, the overflow or the cap: in event-time order it may have
 *   been of the overflow episode, which takes any fault, so no late fault within the cooldown after
 *   it is judged (raise `from`).
 * Episodes kept are all within their cooldown of the newest report (pruneLapsed), so none lapsed before `t`.
 */
export function lateVerdict(episodes: AlertEpisodes | undefined, key: string, ofFault: (k: string) => boolean, t: number, from: number, bounds: LateBounds | undefined, max = MAX_EPISODES): 'fits' | 'own' | 'fault' | 'all' {
  if (t < from || episodes?.[OVERFLOW_KEY] !== undefined) return 'all';
  let near = 0;
  let own = false;
  for (const k in bounds) {
    if ((bounds[k] as number) <= t) continue;
    near++;
    if (k === key || ofFault(k)) own = true;
  }
  if (own) return 'fault';
  const e = episodes?.[key];
  if (e !== undefined) return t >= e.start ? 'fits' : 'own';
  return Object.keys(episodes ?? {}).length + near + 1 < max ? 'fits' : 'all';
}

/**
 * `bounds` with `key`'s raised to `bound` (see {@link LateBounds}), and `from`: past
 * {@link LATE_FAULTS_KEPT} faults, the lowest bound is raised into `from` (every fault's), and a
 * bound not past `from` is dropped (it bounds nothing more). The same objects when nothing changes.
 */
export function withLateBound(bounds: LateBounds | undefined, key: string, bound: number, from: number): { readonly bounds: LateBounds | undefined; readonly from: number } {
  if (bound <= from || (bounds?.[key] ?? -Infinity) >= bound) return { bounds, from };
  const next: Record<string, number> = {};
  for (const k in bounds) if ((bounds[k] as number) > from) next[k] = bounds[k] as number;
  next[key] = bound;
  let f = from;
  let count = Object.keys(next).length;
  while (count > LATE_FAULTS_KEPT) {
    let low: string | undefined;
    for (const k in next) if (low === undefined || (next[k] as number) < (next[low] as number) || (next[k] === next[low] && k < low)) low = k;
    f = Math.max(f, next[low as string] as number);
    delete next[low as string];
    count--;
  }
  for (const k in next) if ((next[k] as number) <= f) delete next[k];
  return { bounds: next, from: f };
}

/**
 * `bounds` and `from` after the episodes in `before` and not in `after` were forgotten: a report of
 * their fault within `cooldownMs` of their last report would have been of their episode, so no late
 * report of it before then is judged now; the overflow episode's reports were of any fault, so none
 * is (`from`). (An episode replaced by a later one of its fault needs none: a report of that fault
 * before the later one's start is refused anyway.)
 */
export function forgottenBounds(before: AlertEpisodes | undefined, after: AlertEpisodes | undefined, cooldownMs: number, from: number, bounds: LateBounds | undefined): { readonly bounds: LateBounds | undefined; readonly from: number } {
  let r = { bounds, from };
  if (before === undefined || before === after) return r;
  for (const k in before) {
    if (after?.[k] !== undefined) continue;
    const bound = (before[k] as AlertEpisode).last + cooldownMs;
    r = k === OVERFLOW_KEY ? { bounds: r.bounds, from: Math.max(r.from, bound) } : withLateBound(r.bounds, k, bound, r.from);
  }
  return r;
}

/**
 * `bounds` and `from` after a report at `t` of the fault keyed `key` was refused as late (see
 * {@link lateVerdict}): reports of its fault within `cooldownMs` after it would have been of the
 * same episode in event-time order (one forgotten, or its own refused), so none of them is judged
 * now, else a later one would open a work order that order never opens (E-1 at 08:00 taken and
 * forgotten, E-1 at 09:59 refused, E-1 at 10:09 taken: a second work order for one episode); and
 * when it may have been of the overflow episode, no late report of any fault is.
 */
export function refusedBounds(verdict: 'own' | 'fault' | 'all', key: string, t: number, cooldownMs: number, from: number, bounds: LateBounds | undefined): { readonly bounds: LateBounds | undefined; readonly from: number } {
  if (verdict === 'own') return { bounds, from };
  if (verdict === 'all') return { bounds, from: Math.max(from, t + cooldownMs) };
  return withLateBound(bounds, key, t + cooldownMs, from);
}

/** What a report did: the episodes after it, the one it belongs to, and whether that one starts with it (a new work order). */
export interface AlertStep {
  readonly episodes: AlertEpisodes;
  /** The fault's key, or {@link OVERFLOW_KEY} when it is one too many to track on its own. */
  readonly into: string;
  readonly opens: boolean;
}

/**
 * A report of `key` at `t` (reports come in event-time order): the episodes after it, and whether
 * it starts a new episode (a new work order). Episodes whose cooldown has run out are dropped;
 * one within it never is (see {@link MAX_EPISODES}; `max` is for tests).
 */
export function stepAlert(episodes: AlertEpisodes | undefined, key: string, t: number, cooldownMs: number, max = MAX_EPISODES): AlertStep {
  const current = episodes?.[key];
  // A report not after the episode's last one is of that episode, whatever the cooldown (0 too:
  // another report of one time, with another text or from another feed, would open its work order, same key, again).
  if (current !== undefined && (t <= current.last || t - current.last < cooldownMs)) {
    if (t <= current.last) return { episodes: episodes as AlertEpisodes, into: key, opens: false };
    return { episodes: { ...episodes, [key]: { start: current.start, last: t, ...(current.r !== undefined ? { r: current.r } : {}), ...(current.w !== undefined ? { w: current.w } : {}), ...(current.s !== undefined ? { s: current.s } : {}) } }, into: key, opens: false };
  }
  // Too many faults at once not long ago: one not tracked on its own may be one the overflow took
  // (forgotten as a key, to keep the state bounded), so it is part of the overflow while that lasts.
  const overflow = episodes?.[OVERFLOW_KEY];
  if (overflow !== undefined && (t - overflow.last < cooldownMs || overflow.last >= t)) {
    return { episodes: { ...episodes, [OVERFLOW_KEY]: joinOverflow(overflow, key, t, max) }, into: OVERFLOW_KEY, opens: false };
  }
  // Kept: those within their cooldown, and those reported at `t` itself (with a cooldown of 0, another report of theirs at `t` is still theirs).
  const kept = Object.entries(episodes ?? {}).filter(([k, e]) => k !== key && k !== OVERFLOW_KEY && (t - e.last < cooldownMs || e.last >= t));
  if (kept.length >= max) return { episodes: { ...Object.fromEntries(kept), [OVERFLOW_KEY]: { start: t, last: t, f: [faultHash(key)] } }, into: OVERFLOW_KEY, opens: true };
  return { episodes: { ...Object.fromEntries(kept), [key]: { start: t, last: t } }, into: key, opens: true };
}

/**
 * Does a report of `severity` at `t` (event time), taken into episode `e` of `rule` (not the one it
 * opened), raise its work order's priority? Only where the priority comes from the reports (the rule
 * has no `severity` of its own), the work order was sent with MEDIUM ({@link AlertEpisode.s}), the
 * report's is HIGH, and the work order was not closed by then ({@link closedBy}): info → warning is
 * none (both MEDIUM), and nothing ever lowers it.
 */
export function escalates(rule: AlertRule, e: AlertEpisode, severity: Severity, t: number): boolean {
  return rule.severity === undefined && e.s !== undefined && priorityOf(e.s) !== 'HIGH' && priorityOf(severity) === 'HIGH' && closedBy(e, t) === undefined;
}

/**
 * The episode's work order as the ERP reported it closed (completed or cancelled) at or before `t`
 * (event time, {@link AlertEpisode.w}): there is nothing to raise at `t`, whatever order the status
 * and the report arrived in. A status reported after `t` says nothing of `t` (the work order was
 * open then, as far as is known). Undefined when not so closed.
 */
export function closedBy(e: AlertEpisode, t: number): readonly [WorkOrderStatus, number] | undefined {
  return e.w !== undefined && (e.w[0] === 'completed' || e.w[0] === 'cancelled') && e.w[1] <= t ? e.w : undefined;
}

/**
 * The severity to keep with the episode a report of `severity` opens for `rule` ({@link AlertEpisode.s}):
 * where a later report can raise its priority, else undefined.
 */
export function sentSeverity(rule: AlertRule, severity: Severity): Severity | undefined {
  return rule.severity === undefined && priorityOf(severity) !== 'HIGH' ? severity : undefined;
}

/** The episode `into` of `episodes` with its work order sent with `severity` ({@link AlertEpisode.s}). */
export function withSentSeverity(episodes: AlertEpisodes, into: string, severity: Severity): AlertEpisodes {
  const e = episodes[into];
  return e === undefined || e.s === severity ? episodes : { ...episodes, [into]: { ...e, s: severity } };
}
