/**
 * The owned form (owned.ts) of the usage rule (usage-rule.ts): every asset's usage state kept by
 * the rule and changed in place, saved as the pure form's {@link UsageState}.
 *
 * Most meter readings are the plain case: the meter advanced a little, plausibly, in the period of
 * the reading before. For that case (and an asset's first reading) its state lives in columns
 * (typed arrays by asset index): its reorder buffer as a small sorted slot of times and values,
 * the hygiene base, the continuous hours, the latest reading and the current period (its end, units
 * and meter at end, so a reading in the same period needs no calendar lookup and no copy of
 * `periods`). What changes rarely (`first`, the other periods, `pruned`, `cal`, a declared reset)
 * is kept as the pure state's own objects, never changed.
 *
 * Everything else — a declared or detected reset, a spike, a stall, a rollback, a reading in
 * another period (or at its very start), equal times with other values, a calendar the periods
 * were not filed under, pruning, a state counted on the other meter, a full slot, states this
 * layout cannot hold — goes through the pure rule itself: the asset's state is built as the pure
 * form stores it, the pure rule decides, and its result is taken back into columns when they can
 * hold it (else the asset stays on the pure form until they can). Rare semantics are thereby the
 * pure rule's by construction; the oracle tests (usage-rule-owned.test.ts) hold the fast path to it.
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { CanonicalEvent } from '../../model/events.js';
import type { FlushableRule } from '../event-time.js';
import { matchesFilter } from '../maintenance/types.js';
import { beyondWallClock, DEFAULT_METER_HYGIENE, wallClockAllowance, ODOMETER_HYGIENE, type MeterHygieneOptions, type MeterHygieneState, type MeterReading } from '../meter-hygiene.js';
import { BUFFER_GROWTH_BUDGET_BYTES, CHANGED, DUPLICATE, grown, LATE, type OwnedRule } from '../owned.js';
import type { RuleContext, RuleResult } from '../rule.js';
import { jsonNumber, jsonString } from '../state-json.js';
import { periodStamp, type Period } from './calendar.js';
import type { PeriodUsage, UsageRuleOptions, UsageState } from './usage-rule.js';

/** What the owned form shares with the pure rule it belongs to (usage-rule.ts). */
export interface UsageRuleParts {
  readonly rule: FlushableRule<UsageState>;
  readonly options: UsageRuleOptions;
  /** The pure rule's test of periods filed under another calendar (held: nothing filed into them). */
  readonly held: (state: UsageState | undefined) => boolean;
  /** The pure rule's: whether the asset's usage is counted on the odometer. */
  readonly kmFor: (asset: AssetRecord) => boolean;
  /** The most the pending readings' columns may take once grown past their first size (tests set a small one). @default BUFFER_GROWTH_BUDGET_BYTES */
  readonly bufferBudgetBytes?: number;
}

/** The owned usage rule, with how many steps went through the pure rule (for tests and measurements). */
export interface OwnedUsageRule extends OwnedRule {
  /** Events and flushes decided by the pure rule (not on the columns' fast path). */
  readonly fallbacks: number;
  /** Pending readings each asset's slot holds now (the same for all assets). */
  readonly slotSize: number;
  /** Pending readings the columns hold for all assets (capacity × slot; 16 bytes each): what the budget bounds. */
  readonly pendingCells: number;
}

/** No state. */
const EMPTY = 0;
/** The state is in the columns. */
const COLUMNS = 1;
/** The state is the pure form's object, in `pure`. */
const PURE = 2;

/**
 * Pending readings each asset's slot holds at first, and at most. The slot is the same size for
 * every asset, so it grows for all when one needs more, up to the most and only while the pending
 * columns stay within the budget (owned.ts `BUFFER_GROWTH_BUDGET_BYTES`): one chatty device in a
 * large fleet must not make every asset's slot large. When more assets load, a grown slot shrinks
 * back within the budget. An asset needing more than the slot (a longer lateness or a denser meter
 * than 2 readings a second at 30 s, a backlog, a fleet too large for a larger slot) runs on the pure
 * form. A device reporting every second with a 30 s lateness keeps about 30 pending.
 */
const SLOT = 8;
const MAX_SLOT = 64;
/** Bytes a pending reading takes in the columns (`pendT` and `pendH`). */
const READING_BYTES = 16;

/** Per-asset cache of what depends on the asset record only (by identity, as the pure rule's `kmFor`). */
const KNOWN = 1;
const APPLIES = 2;
const KM = 4;

const round = (v: number): number => Math.round(v * 1e6) / 1e6;

export function ownedUsageRule(parts: UsageRuleParts): OwnedUsageRule {
  return new OwnedUsage(parts);
}

class OwnedUsage implements OwnedUsageRule {
  readonly name: string;
  readonly kinds: readonly CanonicalEvent['kind'][];
  fallbacks = 0;
  private readonly rule: FlushableRule<UsageState>;
  private readonly options: UsageRuleOptions;
  private readonly held: (state: UsageState | undefined) => boolean;
  private readonly kmFor: (asset: AssetRecord) => boolean;
  private readonly lateness: number;
  private readonly keep: number;
  private cap = 0;
  /** Pending readings an asset's slot holds (all assets alike: see {@link SLOT}). */
  private slot = SLOT;
  /** The most `pendT` and `pendH` may take once the slot has grown (see {@link SLOT}). */
  private readonly budget: number;
  private readonly stamps = new Map<string, string>();

  private mode = new Uint8Array(0);
  private km = new Uint8Array(0);
  /** 0: no reading counted yet (the state is `order` and `km` only); 1: the fields below hold the state's. */
  private started = new Uint8Array(0);
  private assetFlags = new Uint8Array(0);
  private asset: (AssetRecord | undefined)[] = [];
  /** The reorder buffer: `released`, `newest` (NaN: absent), `last` (count 0 or 1, time, value), pending (sorted, strictly increasing times). */
  private released = new Float64Array(0);
  private newest = new Float64Array(0);
  private relCount = new Uint8Array(0);
  private relT = new Float64Array(0);
  private relH = new Float64Array(0);
  private pend = new Uint8Array(0);
  private pendT = new Float64Array(0);
  private pendH = new Float64Array(0);
  /** Hygiene: the base reading, when it was last confirmed, whether a stall was flagged (-1: absent). */
  private hV = new Float64Array(0);
  private hT = new Float64Array(0);
  private hConf = new Float64Array(0);
  private hStall = new Int8Array(0);
  private lastReset: unknown[] = [];
  /** The continuous meter (`hours.total`) and the latest reading (`last`). */
  private total = new Float64Array(0);
  private lastT = new Float64Array(0);
  private lastH = new Float64Array(0);
  /**
   * The period `last` is in, its end and (the current values of) its record in `periods`. Kept when
   * the asset leaves the columns: where to look first when it comes back (most often it, or the next).
   */
  private cur: (Period | undefined)[] = [];
  private curEnd = new Float64Array(0);
  private curUnits = new Float64Array(0);
  private curMeter = new Float64Array(0);
  /** The pure state's own objects, never changed (`periods`' current record is stale: see `curUnits`). */
  private first: (readonly [number, number] | undefined)[] = [];
  private periods: (Readonly<Record<string, PeriodUsage>> | undefined)[] = [];
  private pruned: unknown[] = [];
  private issue: unknown[] = [];
  private cal: (string | undefined)[] = [];
  /** The pure form's state of an asset in {@link PURE} mode. */
  private pure: (UsageState | undefined)[] = [];
  /**
   * `periods`' JSON text around the current record, for {@link saveJson}: the kept object and the
   * current id it was written for (kept objects never change), the text before the record and after.
   */
  private textKept: (Readonly<Record<string, PeriodUsage>> | undefined)[] = [];
  private textId: (string | undefined)[] = [];
  private textHead: string[] = [];
  private textTail: string[] = [];

  constructor(parts: UsageRuleParts) {
    this.rule = parts.rule;
    this.name = parts.rule.name;
    this.kinds = parts.rule.kinds;
    this.options = parts.options;
    this.held = parts.held;
    this.kmFor = parts.kmFor;
    this.lateness = parts.options.allowedLatenessMs;
    this.keep = parts.options.keepPeriods ?? 36;
    this.budget = parts.bufferBudgetBytes ?? BUFFER_GROWTH_BUDGET_BYTES;
    this.grow(63);
  }

  get slotSize(): number {
    return this.slot;
  }

  get pendingCells(): number {
    return this.pendT.length;
  }

  load(a: number, stored: unknown): void {
    if (a >= this.cap) this.grow(a);
    this.asset[a] = undefined;
    this.assetFlags[a] = 0;
    this.store(a, stored as UsageState | undefined);
  }

  save(a: number): unknown {
    if (a >= this.cap) return undefined;
    const mode = this.mode[a];
    return mode === COLUMNS ? this.materialise(a) : mode === PURE ? this.pure[a] : undefined;
  }

  /**
   * {@link save}'s JSON text written from the columns: the kept objects' text (`periods` but the
   * current record: see {@link periodsJson}) and stored values as JSON.stringify writes them, the
   * columns' numbers by `jsonNumber`. A state on the pure form is its own JSON.stringify.
   */
  saveJson(a: number): string | undefined {
    if (a >= this.cap) return undefined;
    const mode = this.mode[a];
    if (mode === PURE) return JSON.stringify(this.pure[a]);
    if (mode !== COLUMNS) return undefined;
    const order = this.orderJson(a);
    const km = this.km[a] === 1;
    if (this.started[a] === 0) return km ? `{"order":${order},"km":true}` : `{"order":${order}}`;
    const periods = this.periodsJson(a);
    // Periods periodsAround does not write (a `__proto__` id, which save's periods do not hold as a key): as save builds them.
    if (periods === undefined) return JSON.stringify(this.materialise(a));
    const stall = this.hStall[a];
    const hygiene =
      `{"last":${pairJson('{"value":', this.hV[a] as number, ',"eventTime":', this.hT[a] as number)},"confirmedAt":${jsonNumber(this.hConf[a] as number)}` +
      (stall === -1 ? '' : stall === 1 ? ',"stallFlagged":true' : ',"stallFlagged":false') +
      `${storedJson(',"lastReset":', this.lastReset[a])}}`;
    const first = this.first[a];
    return (
      `{"order":${order},"hours":{"hygiene":${hygiene},"total":${jsonNumber(this.total[a] as number)}}` +
      (first === undefined ? '' : `,"first":[${jsonNumber(first[0])},${jsonNumber(first[1])}]`) +
      `,"last":[${jsonNumber(this.lastT[a] as number)},${jsonNumber(this.lastH[a] as number)}],"periods":${periods}` +
      (km ? ',"km":true' : '') +
      `${storedJson(',"pruned":', this.pruned[a])}${storedJson(',"meterIssue":', this.issue[a])}${storedJson(',"cal":', this.cal[a])}}`
    );
  }

  drop(a: number): void {
    if (a >= this.cap) return;
    this.mode[a] = EMPTY;
    this.asset[a] = undefined;
    this.assetFlags[a] = 0;
    this.clearRefs(a);
  }

  holds(a: number, asset?: AssetRecord): boolean {
    if (a >= this.cap) return false;
    // Not depreciated: its watermark decides nothing (see flush), so nothing is held.
    if (asset !== undefined && (this.flagsOf(a, asset) & APPLIES) === 0) return false;
    const mode = this.mode[a];
    return mode === COLUMNS ? (this.pend[a] as number) > 0 : mode === PURE ? this.rule.holds(this.pure[a]) : false;
  }

  apply(a: number, event: CanonicalEvent, ctx: RuleContext, out: DeliveryIntent[]): number {
    if (event.kind !== 'meter') return 0;
    if (a >= this.cap) this.grow(a);
    const f = this.flagsOf(a, ctx.asset);
    // Not this rule's asset, or no reading of its meter: the pure rule leaves the state as it is.
    if ((f & APPLIES) === 0) return 0;
    const km = (f & KM) !== 0;
    const h = km ? event.odometerKm : event.operatingHours;
    if (h === undefined) return 0;
    const t = event.eventTime;
    const reset = km ? event.odometerReset === true : event.declaredReset === true;
    if (reset || h - h !== 0 || t - t !== 0) return this.slowApply(a, event, ctx, out);
    const mode = this.mode[a];
    if (mode === EMPTY) {
      // An asset's first reading: the columns of a state with nothing held (mode stays EMPTY unless the fast path takes it).
      this.km[a] = km ? 1 : 0;
      this.started[a] = 0;
      this.released[a] = NaN;
      this.newest[a] = NaN;
      this.relCount[a] = 0;
      this.pend[a] = 0;
    } else if (mode !== COLUMNS || (this.km[a] === 1) !== km) return this.slowApply(a, event, ctx, out);

    // The reorder buffer (event-time.ts `admit`, keepLast): late, a duplicate, or where it goes.
    const released = this.released[a] as number;
    if (t <= released) return this.relCount[a] === 1 && this.relT[a] === t && this.relH[a] === h ? DUPLICATE : LATE;
    let base = a * this.slot;
    const n = this.pend[a] as number;
    let i = n;
    while (i > 0) {
      const pt = this.pendT[base + i - 1] as number;
      if (pt < t) break;
      if (pt === t) {
        if (this.pendH[base + i - 1] === h) return DUPLICATE;
        // Equal times, other values: ordered by the values as text (the pure tiebreak).
        return this.slowApply(a, event, ctx, out);
      }
      i--;
    }
    if (n === this.slot) {
      if (!this.room(n + 1)) return this.slowApply(a, event, ctx, out);
      base = a * this.slot;
    }
    const nw = this.newest[a] as number;
    const newest = nw !== nw || t > nw ? t : nw;
    const watermark = newest - this.lateness;
    // In place: the slot with the reading inserted (taken out again if the pure rule must decide).
    for (let k = n; k > i; k--) {
      this.pendT[base + k] = this.pendT[base + k - 1] as number;
      this.pendH[base + k] = this.pendH[base + k - 1] as number;
    }
    this.pendT[base + i] = t;
    this.pendH[base + i] = h;
    let m = 0;
    while (m <= n && (this.pendT[base + m] as number) <= watermark) m++;
    if (m > 0 && !this.release(a, m, n + 1)) {
      for (let k = i; k < n; k++) {
        this.pendT[base + k] = this.pendT[base + k + 1] as number;
        this.pendH[base + k] = this.pendH[base + k + 1] as number;
      }
      return this.slowApply(a, event, ctx, out);
    }
    this.pend[a] = n + 1 - m;
    this.newest[a] = newest;
    this.mode[a] = COLUMNS;
    return CHANGED;
  }

  flush(a: number, ctx: RuleContext, upTo: number | undefined, out: DeliveryIntent[]): number {
    if (a >= this.cap) this.grow(a);
    const mode = this.mode[a];
    // No state: the pure rule returns it as it is (nothing held).
    if (mode === EMPTY) return 0;
    // Not depreciated (the config changed since its readings were buffered): a watermark decides nothing either (the pure form's answer).
    if ((this.flagsOf(a, ctx.asset) & APPLIES) === 0) return 0;
    if (mode !== COLUMNS) return this.slowFlush(a, ctx, upTo, out);
    const n = this.pend[a] as number;
    // Nothing held, or nothing final at `upTo`: the pure rule returns the state as it is.
    if (n === 0) return 0;
    let m = n;
    let newest = this.newest[a] as number;
    if (upTo !== undefined) {
      newest = Math.max(newest !== newest ? upTo : newest, upTo);
      const watermark = newest - this.lateness;
      m = 0;
      while (m < n && (this.pendT[a * this.slot + m] as number) <= watermark) m++;
      if (m === 0) return 0;
    }
    if (!this.release(a, m, n)) return this.slowFlush(a, ctx, upTo, out);
    this.pend[a] = n - m;
    this.newest[a] = newest;
    return CHANGED;
  }

  /** What depends on `asset`'s record only ({@link APPLIES}, {@link KM}), kept for asset `a` while its record is the same object. */
  private flagsOf(a: number, asset: AssetRecord): number {
    if (this.asset[a] === asset) return this.assetFlags[a] as number;
    let f = KNOWN;
    if (matchesFilter(asset, this.options.appliesTo)) f |= this.kmFor(asset) ? APPLIES | KM : APPLIES;
    this.asset[a] = asset;
    this.assetFlags[a] = f;
    return f;
  }

  /**
   * Counts the first `m` of the `count` readings in the slot (now final, in event-time order) when
   * each is a plain accepted reading in the current period (or the asset's first reading, in a
   * period of the calendar), and takes them out of the slot; false (nothing changed) when one is
   * not: then the pure rule decides.
   */
  private release(a: number, m: number, count: number): boolean {
    const base = a * this.slot;
    const o: MeterHygieneOptions = this.km[a] === 1 ? ODOMETER_HYGIENE : DEFAULT_METER_HYGIENE;
    let hv = this.hV[a] as number;
    let ht = this.hT[a] as number;
    let hc = this.hConf[a] as number;
    let stall = this.hStall[a] as number;
    let total = this.total[a] as number;
    let lt = this.lastT[a] as number;
    let lh = this.lastH[a] as number;
    let units = this.curUnits[a] as number;
    let atEnd = this.curMeter[a] as number;
    let end = this.curEnd[a] as number;
    // The first reading's period, when one of these is the asset's first.
    let first: Period | undefined;
    let k = 0;
    if (this.started[a] === 0) {
      // usage-rule.ts `onReading` without a reading before: hygiene's baseline, the period it is in
      // filed with no units, and the calendar stamped for that one period.
      const t = this.pendT[base] as number;
      const v = this.pendH[base] as number;
      first = this.options.calendar.periodAt(t);
      if (first === undefined || !(first.start <= t && t < first.end) || this.keep < 1) return false;
      hv = v;
      ht = t;
      hc = t;
      stall = 0;
      total = v;
      lt = t;
      lh = v;
      units = 0;
      atEnd = v;
      end = first.end;
      k = 1;
    }
    for (; k < m; k++) {
      const t = this.pendT[base + k] as number;
      const v = this.pendH[base + k] as number;
      // Not after the hygiene base or the latest reading (a duplicate, out of order), or not
      // before the current period's end (spread over another period): the pure rule's.
      if (!(t > hc) || !(t > lt) || !(t < end)) return false;
      // meter-hygiene.ts `classifyMeterReading`, accepted verdicts only.
      const delta = v - hv;
      let usage: number;
      if (delta === 0) {
        if (t - ht > o.stalledAfterMs) return false;
        usage = 0;
        hc = t;
      } else {
        if (!(delta > 0)) return false;
        if (delta > wallClockAllowance(t - ht, o)) return false;
        // Ahead of the wall clock since the meter last showed its value (`hc`): held by hygiene
        // (`holdCatchUp`, usage-rule.ts) until the next reading tells; the pure rule's.
        if (delta > wallClockAllowance(t - hc, o)) return false;
        usage = round(delta);
        hv = v;
        ht = t;
        hc = t;
        stall = 0;
      }
      // hours.ts `stepHours`.
      total = round(total + usage);
      // More than the wall clock allows since the latest reading (a frozen feed catching up): the
      // pure rule spreads it from the first showing (usage-rule.ts `spreadFrom`, asking this of
      // the same numbers), maybe over an earlier period.
      if (beyondWallClock(total - lh, t - lt, o)) return false;
      // usage-rule.ts `spread` over the one period (t0, t1] lies in.
      const dt = t - lt;
      const share = ((total - lh) * dt) / dt;
      units = round(units + share);
      atEnd = round(total);
      lt = t;
      lh = total;
    }
    this.hV[a] = hv;
    this.hT[a] = ht;
    this.hConf[a] = hc;
    this.hStall[a] = stall;
    this.total[a] = total;
    this.lastT[a] = lt;
    this.lastH[a] = lh;
    this.curUnits[a] = units;
    this.curMeter[a] = atEnd;
    this.issue[a] = undefined;
    if (first !== undefined) {
      const t = this.pendT[base] as number;
      this.started[a] = 1;
      this.lastReset[a] = undefined;
      this.first[a] = [t, this.pendH[base] as number];
      this.cur[a] = first;
      this.curEnd[a] = first.end;
      this.periods[a] = NO_PERIODS;
      this.pruned[a] = undefined;
      this.cal[a] = this.stampOf(first.id);
    }
    // The buffer: the newest released is `released` and `last`; the rest moves up.
    this.released[a] = this.pendT[base + m - 1] as number;
    this.relCount[a] = 1;
    this.relT[a] = this.pendT[base + m - 1] as number;
    this.relH[a] = this.pendH[base + m - 1] as number;
    for (let k = 0; k < count - m; k++) {
      this.pendT[base + k] = this.pendT[base + k + m] as number;
      this.pendH[base + k] = this.pendH[base + k + m] as number;
    }
    return true;
  }

  /** The calendar's stamp of periods `[id]` (usage-rule.ts stamps a first reading's): kept per id. */
  private stampOf(id: string): string {
    let stamp = this.stamps.get(id);
    if (stamp === undefined) {
      stamp = periodStamp(this.options.calendar, [id]);
      if (this.stamps.size >= 1000) this.stamps.clear();
      this.stamps.set(id, stamp);
    }
    return stamp;
  }

  private slowApply(a: number, event: CanonicalEvent, ctx: RuleContext, out: DeliveryIntent[]): number {
    const before = this.stateOf(a);
    return this.take(a, before, this.rule.apply(before, event, ctx), out);
  }

  private slowFlush(a: number, ctx: RuleContext, upTo: number | undefined, out: DeliveryIntent[]): number {
    const before = this.stateOf(a);
    const r = this.rule.flush(before, ctx, upTo);
    return this.take(a, before, r, out) & ~LATE;
  }

  /** The pure rule's result for asset `a`: flags as `ownedFromPure` gives them. */
  private take(a: number, before: UsageState | undefined, r: RuleResult<UsageState>, out: DeliveryIntent[]): number {
    this.fallbacks++;
    for (let k = 0; k < r.deliveries.length; k++) out.push(r.deliveries[k] as DeliveryIntent);
    let flags = r.late === true ? LATE : r.duplicate === true ? DUPLICATE : 0;
    if (r.state !== before) {
      this.store(a, r.state);
      flags |= CHANGED;
    }
    return flags;
  }

  private stateOf(a: number): UsageState | undefined {
    const mode = this.mode[a];
    return mode === COLUMNS ? this.materialise(a) : mode === PURE ? this.pure[a] : undefined;
  }

  /** Takes a pure state as asset `a`'s: into the columns when they can hold it exactly, else as it is. */
  private store(a: number, s: UsageState | undefined): void {
    this.clearRefs(a);
    if (s === undefined) {
      this.mode[a] = EMPTY;
    } else if (this.toColumns(a, s)) {
      this.mode[a] = COLUMNS;
    } else {
      this.mode[a] = PURE;
      this.pure[a] = s;
    }
  }

  /**
   * Writes `s` into asset `a`'s columns when they hold it exactly (saved back, it is equal as
   * JSON) and the fast path can go on from it; false otherwise (the columns then mean nothing).
   */
  private toColumns(a: number, s: UsageState): boolean {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return false;
    for (const key in s) if (!STATE_KEYS.has(key) && (s as Record<string, unknown>)[key] !== undefined) return false;
    if (s.km !== undefined && s.km !== true) return false;
    // The reorder buffer: plain readings, strictly in time order, as many as the slot holds.
    const order = s.order;
    if (typeof order !== 'object' || order === null) return false;
    for (const key in order) if (!ORDER_KEYS.has(key) && (order as unknown as Record<string, unknown>)[key] !== undefined) return false;
    const pending: unknown = order.pending;
    if (!Array.isArray(pending) || !this.room(pending.length)) return false;
    if (!optionalNumber(order.released) || !optionalNumber(order.newest)) return false;
    const last: unknown = order.last;
    if (last !== undefined && (!Array.isArray(last) || last.length !== 1 || !isPair(last[0], 't', 'h'))) return false;
    const base = a * this.slot;
    let before = -Infinity;
    for (let k = 0; k < pending.length; k++) {
      const r: unknown = pending[k];
      if (!isPair(r, 't', 'h')) return false;
      const { t, h } = r as { t: number; h: number };
      if (!(t > before)) return false;
      before = t;
      this.pendT[base + k] = t;
      this.pendH[base + k] = h;
    }
    // No reading counted yet: the buffer is all there is.
    let fields = 0;
    for (const key in s) if ((s as Record<string, unknown>)[key] !== undefined) fields++;
    if (fields === (s.km === true ? 2 : 1)) {
      this.writeOrder(a, s.km === true, order, pending.length);
      this.started[a] = 0;
      return true;
    }
    // Hygiene with a base reading, and the continuous meter.
    const hours: unknown = s.hours;
    if (!isObject(hours) || !onlyKeys(hours, HOURS_KEYS) || !isFiniteNumber(hours.total)) return false;
    const hygiene = hours.hygiene as MeterHygieneState | undefined;
    if (!isObject(hygiene) || !onlyKeys(hygiene, HYGIENE_KEYS)) return false;
    const base0 = hygiene.last as MeterReading;
    if (!isPair(base0, 'value', 'eventTime') || !isFiniteNumber(hygiene.confirmedAt)) return false;
    if (hygiene.stallFlagged !== undefined && typeof hygiene.stallFlagged !== 'boolean') return false;
    // Readings and periods: the period of the latest reading kept, with the calendar in force.
    if (!isNumberPair(s.first) || !isNumberPair(s.last)) return false;
    const periods: unknown = s.periods;
    if (!isObject(periods) || Array.isArray(periods) || typeof s.cal !== 'string') return false;
    let count = 0;
    for (const id in periods) {
      if (id === '__proto__') return false;
      count++;
    }
    if (count > this.keep || this.held(s)) return false;
    const lastT = s.last[0];
    const p = this.periodOf(a, lastT);
    if (!p || !Object.hasOwn(periods, p.id)) return false;
    const record = periods[p.id] as PeriodUsage;
    if (!isPair(record, 'units', 'meterAtEnd')) return false;

    this.writeOrder(a, s.km === true, order, pending.length);
    this.started[a] = 1;
    this.hV[a] = base0.value;
    this.hT[a] = base0.eventTime;
    this.hConf[a] = hygiene.confirmedAt;
    this.hStall[a] = hygiene.stallFlagged === undefined ? -1 : hygiene.stallFlagged ? 1 : 0;
    this.lastReset[a] = hygiene.lastReset;
    this.total[a] = hours.total;
    this.lastT[a] = lastT;
    this.lastH[a] = s.last[1];
    this.cur[a] = p;
    this.curEnd[a] = p.end;
    this.curUnits[a] = record.units;
    this.curMeter[a] = record.meterAtEnd;
    this.first[a] = s.first;
    this.periods[a] = periods as Readonly<Record<string, PeriodUsage>>;
    this.pruned[a] = s.pruned;
    this.issue[a] = s.meterIssue;
    this.cal[a] = s.cal;
    return true;
  }

  /**
   * The calendar's period containing `t` (its `periodFrom`, when that contains `t`): the period
   * the asset was in, or the one after it, before asking the calendar (a monthly one asks Intl for
   * an instant outside the month it answered last, and assets crossing a month's end alternate).
   */
  private periodOf(a: number, t: number): Period | undefined {
    const calendar = this.options.calendar;
    const was = this.cur[a];
    if (was !== undefined) {
      if (was.start <= t && t < was.end) return was;
      const next = calendar.next(was);
      if (next !== undefined && next.start <= t && t < next.end) return next;
    }
    const p = calendar.periodFrom(t);
    return p !== undefined && p.start <= t && t < p.end ? p : undefined;
  }

  /** The buffer's fields (its pending readings are in the slot already). */
  private writeOrder(a: number, km: boolean, order: NonNullable<UsageState['order']>, pending: number): void {
    this.km[a] = km ? 1 : 0;
    this.released[a] = order.released ?? NaN;
    this.newest[a] = order.newest ?? NaN;
    const lastReleased = order.last?.[0];
    this.relCount[a] = lastReleased === undefined ? 0 : 1;
    this.relT[a] = lastReleased?.t ?? NaN;
    this.relH[a] = lastReleased?.h ?? NaN;
    this.pend[a] = pending;
  }

  /** Asset `a`'s columns as the pure form's state: fresh objects where the columns hold the values, the kept ones elsewhere. */
  private materialise(a: number): UsageState {
    const base = a * this.slot;
    const pending: { t: number; h: number }[] = [];
    for (let k = 0; k < (this.pend[a] as number); k++) pending.push({ t: this.pendT[base + k] as number, h: this.pendH[base + k] as number });
    const order: { released?: number; newest?: number; pending: { t: number; h: number }[]; last?: { t: number; h: number }[] } = { pending };
    const released = this.released[a] as number;
    if (released === released) order.released = released;
    const newest = this.newest[a] as number;
    if (newest === newest) order.newest = newest;
    if (this.relCount[a] === 1) order.last = [{ t: this.relT[a] as number, h: this.relH[a] as number }];
    if (this.started[a] === 0) return this.km[a] === 1 ? { order, km: true } : { order };
    const stall = this.hStall[a];
    const hygiene: { -readonly [K in keyof MeterHygieneState]: MeterHygieneState[K] } = {
      last: { value: this.hV[a] as number, eventTime: this.hT[a] as number },
      confirmedAt: this.hConf[a],
    };
    if (stall !== -1) hygiene.stallFlagged = stall === 1;
    const lastReset = this.lastReset[a];
    if (lastReset !== undefined) hygiene.lastReset = lastReset as MeterHygieneState['lastReset'];
    const periods: Record<string, PeriodUsage> = {};
    const kept = this.periods[a] as Readonly<Record<string, PeriodUsage>>;
    for (const id in kept) periods[id] = kept[id] as PeriodUsage;
    periods[(this.cur[a] as Period).id] = { units: this.curUnits[a] as number, meterAtEnd: this.curMeter[a] as number };
    const s: { -readonly [K in keyof UsageState]: UsageState[K] } = {
      order,
      hours: { hygiene, total: this.total[a] as number },
      first: this.first[a],
      last: [this.lastT[a] as number, this.lastH[a] as number],
      periods,
    };
    if (this.km[a] === 1) s.km = true;
    const pruned = this.pruned[a];
    if (pruned !== undefined) s.pruned = pruned as UsageState['pruned'];
    const issue = this.issue[a];
    if (issue !== undefined) s.meterIssue = issue as string;
    s.cal = this.cal[a];
    return s;
  }

  /** The reorder buffer's JSON text (`order` as {@link materialise} builds it). */
  private orderJson(a: number): string {
    const base = a * this.slot;
    const n = this.pend[a] as number;
    let text = '{"pending":[';
    for (let k = 0; k < n; k++) text += `${k === 0 ? '' : ','}${pairJson('{"t":', this.pendT[base + k] as number, ',"h":', this.pendH[base + k] as number)}`;
    text += ']';
    const released = this.released[a] as number;
    if (released === released) text += `,"released":${jsonNumber(released)}`;
    const newest = this.newest[a] as number;
    if (newest === newest) text += `,"newest":${jsonNumber(newest)}`;
    if (this.relCount[a] === 1) text += `,"last":[${pairJson('{"t":', this.relT[a] as number, ',"h":', this.relH[a] as number)}]`;
    return `${text}}`;
  }

  /**
   * `periods`' JSON text: the kept records' text around the current record's from the columns (the
   * kept text written once per kept object and current id: see {@link periodsAround}). undefined
   * where that gives none.
   */
  private periodsJson(a: number): string | undefined {
    const kept = this.periods[a] as Readonly<Record<string, PeriodUsage>>;
    const id = (this.cur[a] as Period).id;
    if (this.textKept[a] !== kept || this.textId[a] !== id) {
      const around = periodsAround(kept, id);
      if (around === undefined) return undefined;
      this.textKept[a] = kept;
      this.textId[a] = id;
      this.textHead[a] = around[0];
      this.textTail[a] = around[1];
    }
    return `${this.textHead[a] as string}${pairJson('{"units":', this.curUnits[a] as number, ',"meterAtEnd":', this.curMeter[a] as number)}${this.textTail[a] as string}`;
  }

  private clearRefs(a: number): void {
    this.lastReset[a] = undefined;
    this.first[a] = undefined;
    this.periods[a] = undefined;
    this.pruned[a] = undefined;
    this.issue[a] = undefined;
    this.cal[a] = undefined;
    this.pure[a] = undefined;
    this.textKept[a] = undefined;
    // The text too, which can be a few KB for an asset with years of periods kept.
    this.textHead[a] = '';
    this.textTail[a] = '';
  }

  /**
   * Room for `items` pending readings in every asset's slot: a larger slot for all (doubling), each
   * asset's readings moved to its new place; false: more than the slot may hold, or than the budget
   * allows for every asset's (the asset needing it runs on the pure form instead).
   */
  private room(items: number): boolean {
    if (items <= this.slot) return true;
    if (items > MAX_SLOT) return false;
    let next = this.slot * 2;
    while (next < items) next *= 2;
    if (this.cap * next * READING_BYTES > this.budget) return false;
    this.reslot(next, this.cap);
    return true;
  }

  /**
   * `pendT` and `pendH` for `cap` assets with a slot of `next` readings, each held asset's slot
   * moved to its new place (its first `next` readings: the caller has taken every asset holding
   * more off the columns).
   */
  private reslot(next: number, cap: number): void {
    const old = this.slot;
    const oldT = this.pendT;
    const oldH = this.pendH;
    const pendT = new Float64Array(cap * next);
    const pendH = new Float64Array(cap * next);
    if (next === old) {
      pendT.set(oldT);
      pendH.set(oldH);
    } else {
      // Each asset's slot, as much as fits (in modes other than the columns' its values mean nothing, and cost nothing to move).
      const keep = Math.min(old, next);
      for (let a = 0; a < this.cap; a++) {
        pendT.set(oldT.subarray(a * old, a * old + keep), a * next);
        pendH.set(oldH.subarray(a * old, a * old + keep), a * next);
      }
    }
    this.pendT = pendT;
    this.pendH = pendH;
    this.slot = next;
  }

  /**
   * Takes every asset holding more than `next` pending readings off the columns onto the pure form,
   * with the state {@link save} gives (before the slot shrinks to `next`): the same decisions, and
   * the columns take it back once it holds fewer.
   */
  private spill(next: number): void {
    for (let a = 0; a < this.cap; a++) {
      if (this.mode[a] !== COLUMNS || (this.pend[a] as number) <= next) continue;
      const s = this.materialise(a);
      this.clearRefs(a);
      this.mode[a] = PURE;
      this.pure[a] = s;
    }
  }

  /**
   * Room for asset index `a` (capacity doubling). A slot grown while fewer assets were held is
   * first shrunk to fit the budget at the new capacity (not below its first size), the assets
   * holding more moved to the pure form, so the fleet loading does not multiply a chatty asset's need.
   */
  private grow(a: number): void {
    let cap = Math.max(this.cap, 64);
    while (cap <= a) cap *= 2;
    let slot = this.slot;
    while (slot > SLOT && cap * slot * READING_BYTES > this.budget) slot /= 2;
    if (slot < this.slot) this.spill(slot);
    this.reslot(slot, cap);
    const f64 = (old: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => grown(old, cap);
    const u8 = (old: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> => grown(old, cap);
    this.mode = u8(this.mode);
    this.km = u8(this.km);
    this.started = u8(this.started);
    this.assetFlags = u8(this.assetFlags);
    this.relCount = u8(this.relCount);
    this.pend = u8(this.pend);
    this.hStall = grown(this.hStall, cap);
    this.released = f64(this.released);
    this.newest = f64(this.newest);
    this.relT = f64(this.relT);
    this.relH = f64(this.relH);
    this.hV = f64(this.hV);
    this.hT = f64(this.hT);
    this.hConf = f64(this.hConf);
    this.total = f64(this.total);
    this.lastT = f64(this.lastT);
    this.lastH = f64(this.lastH);
    this.curEnd = f64(this.curEnd);
    this.curUnits = f64(this.curUnits);
    this.curMeter = f64(this.curMeter);
    for (const refs of [this.asset, this.lastReset, this.cur, this.first, this.periods, this.pruned, this.issue, this.cal, this.pure, this.textKept, this.textId, this.textHead, this.textTail] as unknown[][]) {
      for (let k = refs.length; k < cap; k++) refs.push(undefined);
    }
    this.cap = cap;
  }
}

/** `periods` without the current one: none (the first reading's). */
const NO_PERIODS: Readonly<Record<string, PeriodUsage>> = Object.freeze({});

const STATE_KEYS = new Set(['order', 'hours', 'first', 'last', 'periods', 'pruned', 'meterIssue', 'km', 'cal']);
const ORDER_KEYS = new Set(['released', 'newest', 'pending', 'last']);
const HOURS_KEYS = new Set(['hygiene', 'total']);
const HYGIENE_KEYS = new Set(['last', 'confirmedAt', 'stallFlagged', 'lastReset']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const optionalNumber = (v: unknown): boolean => v === undefined || isFiniteNumber(v);

/** Whether `o`'s keys (those with a value) are among `keys`. */
function onlyKeys(o: Record<string, unknown>, keys: ReadonlySet<string>): boolean {
  for (const key in o) if (!keys.has(key) && o[key] !== undefined) return false;
  return true;
}

/** Whether `v` is an object of exactly the two finite numbers `x` and `y` (what the columns hold of it). */
function isPair(v: unknown, x: string, y: string): boolean {
  if (!isObject(v) || Array.isArray(v) || !isFiniteNumber(v[x]) || !isFiniteNumber(v[y])) return false;
  let n = 0;
  for (const key in v) if (v[key] !== undefined) n++;
  return n === 2;
}

/**
 * The JSON text of the `periods` {@link OwnedUsage.materialise} builds from `kept` (copied key by
 * key, then the current record set under `id`), cut where the current record goes: the text up to
 * it (its key included) and after it. undefined where the current id is not kept and JSON would not
 * write it last (the columns hold no such state: the current period is kept, or it is the first
 * reading's and the only one), and for keys a copy does not write as keys: `__proto__` (assigning
 * it sets the copy's prototype) and `toJSON` (a function there would be called).
 */
function periodsAround(kept: Readonly<Record<string, PeriodUsage>>, id: string): readonly [string, string] | undefined {
  if (id === '__proto__') return undefined;
  const key = jsonString(id);
  let last: string | undefined;
  for (const k in kept) {
    if (k === '__proto__' || k === 'toJSON') return undefined;
    last = k;
  }
  // Most often the current period is the newest, kept last: the kept object's own text (one call)
  // cut at its key; its record, two numbers (toColumns), holds no other `:{`.
  if (last === id && Object.getPrototypeOf(kept) === Object.prototype) {
    const text = JSON.stringify(kept);
    const at = text.lastIndexOf(`${key}:{`);
    if (at > 0) return [`${text.slice(0, at)}${key}:`, '}'];
  }
  let head = '{';
  let tail = '';
  let found = false;
  for (const k in kept) {
    if (k === id) {
      found = true;
      continue;
    }
    // As JSON.stringify: a key whose value it does not write is left out.
    const entry = storedJson(`${jsonString(k)}:`, kept[k]);
    if (entry === '') continue;
    if (found) tail += `,${entry}`;
    else head += `${entry},`;
  }
  if (!found && last !== undefined) return undefined;
  return [`${head}${key}:`, `${tail}}`];
}

/** The JSON text of an object of two numbers: `open` is `{"x":`, `between` is `,"y":`. */
function pairJson(open: string, x: number, between: string, y: number): string {
  return `${open}${jsonNumber(x)}${between}${jsonNumber(y)}}`;
}

/**
 * `prefix` (`,"key":`) and the JSON text of a value kept as it was given, as JSON.stringify writes
 * an object's property set to it: nothing when it writes nothing (undefined).
 */
function storedJson(prefix: string, v: unknown): string {
  if (v === undefined) return '';
  const text = typeof v === 'string' ? jsonString(v) : (JSON.stringify(v) as string | undefined);
  return text === undefined ? '' : `${prefix}${text}`;
}

/** `[number, number]`, finite. */
function isNumberPair(v: unknown): v is readonly [number, number] {
  return Array.isArray(v) && v.length === 2 && isFiniteNumber(v[0]) && isFiniteNumber(v[1]);
}
