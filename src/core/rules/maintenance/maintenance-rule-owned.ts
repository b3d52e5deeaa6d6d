/**
 * The maintenance rule's owned form (owned.ts): every asset's state kept by the rule in one
 * Float64Array per asset and changed in place, saved as the pure form's {@link MaintenanceState}.
 *
 * Columns hold what changes on the ingest hot path: the reorder buffer (a ring of samples, sensor
 * values by interned layout), `releasedKinds`, the hour counter and its hygiene, the hours history
 * and the service schedules. The rest of the state (thresholds, work orders, odometer, issues,
 * calendars, alerts, completions) stays in the pure state object last taken, which the fast path
 * never changes. The fast path covers what most events are: a sensor or plain hour-meter sample
 * admitted to the buffer, releasing at most one sample, which is a quiet sensor sample (no value
 * reaches a threshold, no threshold in an episode: only the buffer changes) or an hour-meter
 * reading hygiene accepts that opens no work order (the counter, the history and the buffer
 * change). Anything else (late samples, ties, several released at once, breaches and episodes,
 * first readings, flagged readings, resets, odometers, alerts, ERP feedback, flushes that release)
 * is run by the pure rule on the state as the pure form holds it, and the state it returns is
 * taken back into columns, or kept as it is (pure mode) while it holds what columns cannot.
 * Exactness is by construction there, and tested against the pure rule everywhere else
 * (maintenance-rule-owned.property.test.ts).
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { CanonicalEvent, SensorValue } from '../../model/events.js';
import type { FlushableRule } from '../event-time.js';
import { DEFAULT_METER_HYGIENE } from '../meter-hygiene.js';
import { CHANGED, LATE, type OwnedRule } from '../owned.js';
import type { RuleContext, RuleResult } from '../rule.js';
import type { MaintenanceSample, MaintenanceState } from './maintenance-rule.js';
import { attributeBaseline, isLaterBaseline } from './service-interval.js';
import { matchesFilter, type AssetFilter, type MaintenanceOptions } from './types.js';

/** The pure rule's history bounds (maintenance-rule.ts), which the columns replicate. */
export interface HistoryBounds {
  readonly spacingMs: number;
  readonly max: number;
}

type Writable = { -readonly [K in keyof MaintenanceState]: MaintenanceState[K] };

// Block header (one Float64Array per asset). NaN stands for an absent number.
const B_EXISTS = 0; // 1: the asset has a state (possibly `{}`)
const B_ORDER = 1; // 1: `order` present
const B_RELEASED = 2;
const B_NEWEST = 3;
const B_START = 4; // ring index of the first `last` item
const B_LAST = 5; // count of `last` items (0: absent)
const B_PENDING = 6;
const B_HOURS = 7; // 1: `hours` present
const B_HY_VALUE = 8; // hygiene.last (NaN: absent)
const B_HY_TIME = 9;
const B_HY_CONFIRMED = 10;
const B_HY_STALL = 11; // 0 absent, 1 false, 2 true
const B_HY_RESET_VALUE = 12; // hygiene.lastReset (NaN: absent)
const B_HY_RESET_TIME = 13;
const B_TOTAL = 14;
const B_HISTORY = 15; // entries; -1: absent
const B_SERVICES = 16; // 1: `services` present
const B_SETTLED = 17; // 1: every threshold state normal, no repeats counted
const B_ISSUE = 18; // 1: `meterIssue` present
const B_CAP = 19; // ring capacity (items)
const HEADER = 20;
/** Per service interval (config order): present, base, baseAt, firedDue. */
const SERVICE_FIELDS = 4;

/** A ring item: [t, kind (-1: meter reading `h`; ≥ 0: a sensor layout), values…]. */
const METER = -1;
const FIRST_CAP = 8;
/** More samples held than this: the asset's buffer stays in the pure form. */
const MAX_CAP = 512;
/** Distinct sensor layouts (names, order, units) interned; beyond, samples of new ones take the pure form. */
const MAX_LAYOUTS = 256;

const FAST = 0;
const PURE = 1;

const STATE_KEYS = new Set(['order', 'releasedKinds', 'hours', 'history', 'km', 'kmHistory', 'thresholds', 'services', 'workOrders', 'meterIssue', 'odometerIssue', 'calendars', 'alerts', 'completed']);
const round6 = (v: number): number => Math.round(v * 1e6) / 1e6;
const HOUR_MS = 3_600_000;

/** The names, order and units of a sensor sample's values (its JSON shape). */
interface Layout {
  readonly n: number;
  readonly names: readonly string[];
  readonly units: readonly (string | undefined)[];
  /** Per value, the index of its sensor among the thresholds' sensors (-1: none reads it). */
  readonly sensor: Int32Array;
}

/** What applies to an asset (as the pure rule's `applicableOf`), by sensor and service index. */
interface Profile {
  readonly thresholds: number;
  /** Per sensor (all thresholds' sensors): read by a threshold of this asset's. */
  readonly reads: Uint8Array;
  /** Per sensor, the values no threshold of this asset's counts as a breach (a sensor it does not read: all). */
  readonly quietFrom: Float64Array;
  readonly quietTo: Float64Array;
  /** Indices (in `serviceIntervals`) of the hour-meter intervals that apply. */
  readonly hourRules: Int32Array;
  readonly trackHours: boolean;
  readonly trackKm: boolean;
}

/** A fresh owned form of `pure` (the rule built from `options`). */
export function createOwnedMaintenanceRule(pure: FlushableRule<MaintenanceState>, options: MaintenanceOptions, history: HistoryBounds): OwnedRule {
  const lateness = options.allowedLatenessMs;
  const services = options.serviceIntervals;
  const serviceIndex = new Map(services.map((r, i) => [r.name, i]));
  const sensors = [...new Set(options.thresholds.map((r) => r.sensor))];
  const sensorIndex = new Map(sensors.map((s, i) => [s, i]));
  const W = Math.max(4, Math.min(16, sensors.length));
  const S = 2 + W;
  const HIST = HEADER + services.length * SERVICE_FIELDS;
  const RING = HIST + history.max * 2;
  const hygiene = DEFAULT_METER_HYGIENE;

  const profileOf = (asset: AssetRecord): Profile => {
    const thresholds = options.thresholds.filter((r) => matchesFilter(asset, r.appliesTo));
    const reads = new Uint8Array(sensors.length);
    const quietFrom = new Float64Array(sensors.length).fill(-Infinity);
    const quietTo = new Float64Array(sensors.length).fill(Infinity);
    for (const r of thresholds) {
      const k = sensorIndex.get(r.sensor) as number;
      reads[k] = 1;
      if (r.direction === 'above') quietTo[k] = Math.min(quietTo[k] as number, r.threshold);
      else quietFrom[k] = Math.max(quietFrom[k] as number, r.threshold);
    }
    const applying = services.map((r, i) => [r, i] as const).filter(([r]) => matchesFilter(asset, r.appliesTo));
    const calendarMeters = (options.calendarIntervals ?? []).filter((r) => r.orMeter !== undefined && matchesFilter(asset, r.appliesTo)).map((r) => r.orMeter?.meter);
    const hourRules = Int32Array.from(applying.filter(([r]) => r.meter === 'hours').map(([, i]) => i));
    return {
      thresholds: thresholds.length,
      reads,
      quietFrom,
      quietTo,
      hourRules,
      trackHours: hourRules.length > 0 || calendarMeters.includes('hours'),
      trackKm: applying.some(([r]) => r.meter === 'km') || calendarMeters.includes('km'),
    };
  };
  const calendarIntervals = options.calendarIntervals ?? [];
  const alertRules = options.alerts ?? [];
  const unfiltered = [options.thresholds, services, calendarIntervals, alertRules].every((rules) => rules.every((r) => r.appliesTo === undefined));
  let all: Profile | undefined;
  const byAsset = new WeakMap<AssetRecord, Profile>();
  const shared = new Map<string, Profile>();
  const profile = (asset: AssetRecord): Profile => {
    if (unfiltered) return (all ??= profileOf(asset));
    let p = byAsset.get(asset);
    if (!p) {
      const matching = (rules: readonly { readonly appliesTo?: AssetFilter | undefined }[]): string => rules.map((r) => (matchesFilter(asset, r.appliesTo) ? '1' : '0')).join('');
      const key = `${matching(options.thresholds)}|${matching(services)}|${matching(calendarIntervals)}|${matching(alertRules)}`;
      p = shared.get(key);
      if (!p) shared.set(key, (p = profileOf(asset)));
      byAsset.set(asset, p);
    }
    return p;
  };

  // Sensor layouts, interned.
  const layouts: Layout[] = [];
  let lastLayout = -1;
  const intern = (names: readonly string[], units: readonly (string | undefined)[]): number => {
    for (let id = 0; id < layouts.length; id++) {
      const l = layouts[id] as Layout;
      if (l.n !== names.length) continue;
      let same = true;
      for (let j = 0; j < l.n && same; j++) same = l.names[j] === names[j] && l.units[j] === units[j];
      if (same) return id;
    }
    if (names.length > W || layouts.length >= MAX_LAYOUTS) return -1;
    layouts.push({ n: names.length, names, units, sensor: Int32Array.from(names.map((n) => sensorIndex.get(n) ?? -1)) });
    return layouts.length - 1;
  };

  /** The event's values as an item in `scratch` (kind and values; true), if of a layout kept in columns. */
  const scratch = new Float64Array(S);
  const fits = (l: Layout, values: Readonly<Record<string, SensorValue>>): boolean => {
    let j = 0;
    for (const k in values) {
      if (j >= l.n || k !== l.names[j]) return false;
      const v = values[k] as SensorValue;
      if (v.unit !== l.units[j] || !Number.isFinite(v.value)) return false;
      scratch[2 + j] = v.value;
      j++;
    }
    return j === l.n;
  };
  const sensorItem = (values: Readonly<Record<string, SensorValue>>): boolean => {
    if (lastLayout >= 0 && fits(layouts[lastLayout] as Layout, values)) {
      scratch[1] = lastLayout;
      return true;
    }
    const names: string[] = [];
    const units: (string | undefined)[] = [];
    for (const k in values) {
      const v = values[k] as SensorValue;
      if (!Number.isFinite(v.value)) return false;
      names.push(k);
      units.push(v.unit);
    }
    const id = intern(names, units);
    if (id < 0 || !fits(layouts[id] as Layout, values)) return false;
    lastLayout = id;
    scratch[1] = id;
    return true;
  };

  // Per asset.
  const blocks: Float64Array[] = [];
  const mode: number[] = [];
  /** The pure state last taken: the source of the fields not in columns (fast mode), or the whole state (pure mode). */
  const rest: (MaintenanceState | undefined)[] = [];
  const kinds: (string | undefined)[] = [];

  const newBlock = (cap: number): Float64Array => {
    const b = new Float64Array(RING + cap * S);
    b[B_CAP] = cap;
    return b;
  };
  const blockOf = (a: number): Float64Array => {
    let b = blocks[a];
    if (b === undefined) {
      for (let i = blocks.length; i < a; i++) {
        blocks[i] = newBlock(FIRST_CAP);
        mode[i] = FAST;
        rest[i] = undefined;
        kinds[i] = undefined;
      }
      blocks[a] = b = newBlock(FIRST_CAP);
      mode[a] = FAST;
      rest[a] = undefined;
      kinds[a] = undefined;
    }
    return b;
  };
  /** Offset of ring item `j` (j < 2·cap). */
  const slot = (b: Float64Array, j: number): number => {
    const cap = b[B_CAP] as number;
    return RING + (j >= cap ? j - cap : j) * S;
  };
  /** Asset `a`'s block with room for `items` ring items (a larger copy when needed); undefined: more than columns hold. */
  const room = (a: number, items: number): Float64Array | undefined => {
    const b = blocks[a] as Float64Array;
    const cap = b[B_CAP] as number;
    if (items <= cap) return b;
    if (items > MAX_CAP) return undefined;
    let next = cap * 2;
    while (next < items) next *= 2;
    const nb = newBlock(next);
    nb.set(b.subarray(0, RING));
    nb[B_CAP] = next;
    const start = b[B_START] as number;
    const count = (b[B_LAST] as number) + (b[B_PENDING] as number);
    for (let j = 0; j < count; j++) {
      const from = RING + ((start + j) % cap) * S;
      nb.set(b.subarray(from, from + S), RING + j * S);
    }
    nb[B_START] = 0;
    blocks[a] = nb;
    return nb;
  };

  const clear = (b: Float64Array): void => {
    b[B_EXISTS] = 0;
    b[B_ORDER] = 0;
    b[B_RELEASED] = NaN;
    b[B_NEWEST] = NaN;
    b[B_START] = 0;
    b[B_LAST] = 0;
    b[B_PENDING] = 0;
    b[B_HOURS] = 0;
    b[B_HY_VALUE] = NaN;
    b[B_HY_TIME] = NaN;
    b[B_HY_CONFIRMED] = NaN;
    b[B_HY_STALL] = 0;
    b[B_HY_RESET_VALUE] = NaN;
    b[B_HY_RESET_TIME] = NaN;
    b[B_TOTAL] = NaN;
    b[B_HISTORY] = -1;
    b[B_SERVICES] = 0;
    b[B_SETTLED] = 1;
    b[B_ISSUE] = 0;
    for (let i = 0; i < services.length; i++) b[HEADER + i * SERVICE_FIELDS] = 0;
  };

  // ---- From the pure state into columns (load, and after the pure rule ran) ----

  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const optionalFinite = (v: unknown): boolean => v === undefined || finite(v);
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  /** Every key of `o` with a value is one of `keys`. */
  const only = (o: Record<string, unknown>, keys: readonly string[]): boolean => {
    for (const k in o) if (o[k] !== undefined && !keys.includes(k)) return false;
    return true;
  };
  const reading = (v: unknown): v is { value: number; eventTime: number } => isObject(v) && only(v, ['value', 'eventTime']) && finite(v.value) && finite(v.eventTime);

  /** One buffered sample into the ring at `off`; false when columns cannot hold it. */
  const writeSample = (b: Float64Array, off: number, x: unknown): boolean => {
    if (!isObject(x) || !finite(x.t)) return false;
    b[off] = x.t;
    if (x.k === 'm') {
      if (!only(x, ['t', 'k', 'h']) || !finite(x.h)) return false;
      b[off + 1] = METER;
      b[off + 2] = x.h;
      return true;
    }
    if (x.k !== 's' || !only(x, ['t', 'k', 'v']) || !isObject(x.v)) return false;
    const names: string[] = [];
    const units: (string | undefined)[] = [];
    const values: number[] = [];
    for (const k in x.v) {
      const cv = x.v[k];
      if (finite(cv)) {
        units.push(undefined);
        values.push(cv);
      } else if (Array.isArray(cv) && cv.length === 2 && finite(cv[0]) && typeof cv[1] === 'string') {
        units.push(cv[1]);
        values.push(cv[0]);
      } else return false;
      names.push(k);
    }
    const id = intern(names, units);
    if (id < 0) return false;
    b[off + 1] = id;
    for (let j = 0; j < values.length; j++) b[off + 2 + j] = values[j] as number;
    return true;
  };

  const settledOf = (thresholds: unknown): boolean => {
    for (const name in thresholds as Record<string, unknown>) {
      const th = (thresholds as Record<string, unknown>)[name];
      if (!isObject(th) || th.phase !== 'normal' || th.hits !== undefined) return false;
    }
    return true;
  };

  /** Takes `state` into asset `a`'s columns; false (columns then undefined) when they cannot hold it. */
  const toColumns = (a: number, state: unknown): boolean => {
    let b = blockOf(a);
    clear(b);
    kinds[a] = undefined;
    rest[a] = undefined;
    if (state === undefined) return true;
    if (!isObject(state)) return false;
    for (const k in state) if (state[k] !== undefined && !STATE_KEYS.has(k)) return false;
    const s = state as Writable;
    const o: unknown = s.order;
    if (o !== undefined) {
      if (!isObject(o) || !only(o, ['released', 'newest', 'pending', 'last']) || !optionalFinite(o.released) || !optionalFinite(o.newest)) return false;
      const pending = o.pending;
      const last = o.last;
      if (!Array.isArray(pending) || (last !== undefined && (!Array.isArray(last) || last.length === 0))) return false;
      const lastCount = last === undefined ? 0 : last.length;
      const r = room(a, lastCount + pending.length + 1);
      if (r === undefined) return false;
      b = r;
      b[B_ORDER] = 1;
      b[B_RELEASED] = o.released === undefined ? NaN : (o.released as number);
      b[B_NEWEST] = o.newest === undefined ? NaN : (o.newest as number);
      for (let j = 0; j < lastCount; j++) if (!writeSample(b, RING + j * S, (last as unknown[])[j])) return false;
      for (let j = 0; j < pending.length; j++) if (!writeSample(b, RING + (lastCount + j) * S, pending[j])) return false;
      b[B_LAST] = lastCount;
      b[B_PENDING] = pending.length;
    }
    const rk: unknown = s.releasedKinds;
    if (rk !== undefined && typeof rk !== 'string') return false;
    kinds[a] = rk;
    const h: unknown = s.hours;
    if (h !== undefined) {
      if (!isObject(h) || !only(h, ['hygiene', 'total']) || !optionalFinite(h.total) || !isObject(h.hygiene)) return false;
      const hy = h.hygiene;
      if (!only(hy, ['last', 'confirmedAt', 'stallFlagged', 'lastReset']) || !optionalFinite(hy.confirmedAt)) return false;
      if (hy.stallFlagged !== undefined && typeof hy.stallFlagged !== 'boolean') return false;
      if (hy.last !== undefined) {
        if (!reading(hy.last)) return false;
        b[B_HY_VALUE] = hy.last.value;
        b[B_HY_TIME] = hy.last.eventTime;
      }
      if (hy.lastReset !== undefined) {
        if (!reading(hy.lastReset)) return false;
        b[B_HY_RESET_VALUE] = hy.lastReset.value;
        b[B_HY_RESET_TIME] = hy.lastReset.eventTime;
      }
      b[B_HY_CONFIRMED] = hy.confirmedAt === undefined ? NaN : (hy.confirmedAt as number);
      b[B_HY_STALL] = hy.stallFlagged === undefined ? 0 : hy.stallFlagged ? 2 : 1;
      b[B_TOTAL] = h.total === undefined ? NaN : (h.total as number);
      b[B_HOURS] = 1;
    }
    const hist: unknown = s.history;
    if (hist !== undefined) {
      if (!Array.isArray(hist) || hist.length > history.max) return false;
      for (let j = 0; j < hist.length; j++) {
        const e: unknown = hist[j];
        if (!Array.isArray(e) || e.length !== 2 || !finite(e[0]) || !finite(e[1])) return false;
        b[HIST + j * 2] = e[0];
        b[HIST + j * 2 + 1] = e[1];
      }
      b[B_HISTORY] = hist.length;
    }
    const sv: unknown = s.services;
    if (sv !== undefined) {
      if (!isObject(sv)) return false;
      for (const name in sv) {
        const v = sv[name];
        if (v === undefined) continue;
        const i = serviceIndex.get(name);
        if (i === undefined || !isObject(v) || !only(v, ['base', 'baseAt', 'firedDue']) || !finite(v.base) || !optionalFinite(v.baseAt) || !optionalFinite(v.firedDue)) return false;
        const off = HEADER + i * SERVICE_FIELDS;
        b[off] = 1;
        b[off + 1] = v.base;
        b[off + 2] = v.baseAt === undefined ? NaN : (v.baseAt as number);
        b[off + 3] = v.firedDue === undefined ? NaN : (v.firedDue as number);
      }
      b[B_SERVICES] = 1;
    }
    b[B_SETTLED] = settledOf(s.thresholds) ? 1 : 0;
    b[B_ISSUE] = s.meterIssue !== undefined ? 1 : 0;
    b[B_EXISTS] = 1;
    rest[a] = s;
    return true;
  };

  /** Asset `a`'s state from now on: in columns when they hold it, else as it is (pure mode). */
  const adopt = (a: number, state: MaintenanceState | undefined): void => {
    if (toColumns(a, state)) {
      mode[a] = FAST;
    } else {
      mode[a] = PURE;
      rest[a] = state;
    }
  };

  // ---- From columns to the pure state (save, and before the pure rule runs) ----

  const sampleAt = (b: Float64Array, off: number): MaintenanceSample => {
    const t = b[off] as number;
    const kind = b[off + 1] as number;
    if (kind === METER) return { t, k: 'm', h: b[off + 2] as number };
    const l = layouts[kind] as Layout;
    const v: Record<string, number | readonly [number, string]> = {};
    for (let j = 0; j < l.n; j++) {
      const unit = l.units[j];
      v[l.names[j] as string] = unit !== undefined ? [b[off + 2 + j] as number, unit] : (b[off + 2 + j] as number);
    }
    return { t, k: 's', v };
  };
  const num = (v: number): number | undefined => (v === v ? v : undefined);

  const materialise = (a: number): MaintenanceState | undefined => {
    if (mode[a] === PURE) return rest[a];
    const b = blocks[a];
    if (b === undefined || b[B_EXISTS] === 0) return undefined;
    const r = rest[a] ?? {};
    const s: Writable = {};
    if (b[B_ORDER] === 1) {
      const start = b[B_START] as number;
      const lastCount = b[B_LAST] as number;
      const pendingCount = b[B_PENDING] as number;
      const pending: MaintenanceSample[] = [];
      for (let j = 0; j < pendingCount; j++) pending.push(sampleAt(b, slot(b, start + lastCount + j)));
      let last: MaintenanceSample[] | undefined;
      if (lastCount > 0) {
        last = [];
        for (let j = 0; j < lastCount; j++) last.push(sampleAt(b, slot(b, start + j)));
      }
      // Of the pure form's shape: every field present, undefined where absent (JSON drops those).
      s.order = { released: num(b[B_RELEASED] as number), newest: num(b[B_NEWEST] as number), pending, last };
    }
    if (kinds[a] !== undefined) s.releasedKinds = kinds[a];
    if (b[B_HOURS] === 1) {
      const hy: { last?: { value: number; eventTime: number }; confirmedAt?: number; stallFlagged?: boolean; lastReset?: { value: number; eventTime: number } } = {};
      if (b[B_HY_VALUE] === b[B_HY_VALUE]) hy.last = { value: b[B_HY_VALUE] as number, eventTime: b[B_HY_TIME] as number };
      const confirmedAt = num(b[B_HY_CONFIRMED] as number);
      if (confirmedAt !== undefined) hy.confirmedAt = confirmedAt;
      if (b[B_HY_STALL] !== 0) hy.stallFlagged = b[B_HY_STALL] === 2;
      if (b[B_HY_RESET_VALUE] === b[B_HY_RESET_VALUE]) hy.lastReset = { value: b[B_HY_RESET_VALUE] as number, eventTime: b[B_HY_RESET_TIME] as number };
      const total = num(b[B_TOTAL] as number);
      s.hours = total !== undefined ? { hygiene: hy, total } : { hygiene: hy };
    }
    const count = b[B_HISTORY] as number;
    if (count >= 0) {
      const h: (readonly [number, number])[] = [];
      for (let j = 0; j < count; j++) h.push([b[HIST + j * 2] as number, b[HIST + j * 2 + 1] as number]);
      s.history = h;
    }
    if (r.km !== undefined) s.km = r.km;
    if (r.kmHistory !== undefined) s.kmHistory = r.kmHistory;
    if (r.thresholds !== undefined) s.thresholds = r.thresholds;
    if (b[B_SERVICES] === 1) {
      const sv: Record<string, { base: number; baseAt?: number; firedDue?: number }> = {};
      for (let i = 0; i < services.length; i++) {
        const off = HEADER + i * SERVICE_FIELDS;
        if (b[off] !== 1) continue;
        const baseAt = num(b[off + 2] as number);
        const firedDue = num(b[off + 3] as number);
        sv[(services[i] as { name: string }).name] = { base: b[off + 1] as number, ...(baseAt !== undefined ? { baseAt } : {}), ...(firedDue !== undefined ? { firedDue } : {}) };
      }
      s.services = sv;
    }
    if (r.workOrders !== undefined) s.workOrders = r.workOrders;
    if (r.meterIssue !== undefined) s.meterIssue = r.meterIssue;
    if (r.odometerIssue !== undefined) s.odometerIssue = r.odometerIssue;
    if (r.calendars !== undefined) s.calendars = r.calendars;
    if (r.alerts !== undefined) s.alerts = r.alerts;
    if (r.completed !== undefined) s.completed = r.completed;
    return s;
  };

  // ---- The pure rule, on the state as the pure form holds it ----

  const settle = (a: number, before: MaintenanceState | undefined, r: RuleResult<MaintenanceState>, out: DeliveryIntent[]): number => {
    const made = r.deliveries;
    for (let k = 0; k < made.length; k++) out.push(made[k] as DeliveryIntent);
    let flags = r.late === true ? LATE : 0;
    if (r.state !== before) {
      adopt(a, r.state);
      flags |= CHANGED;
    }
    return flags;
  };
  const pureApply = (a: number, event: CanonicalEvent, ctx: RuleContext, out: DeliveryIntent[]): number => {
    const before = materialise(a);
    return settle(a, before, pure.apply(before, event, ctx), out);
  };
  const pureFlush = (a: number, ctx: RuleContext, upTo: number | undefined, out: DeliveryIntent[]): number => {
    const before = materialise(a);
    return settle(a, before, pure.flush(before, ctx, upTo), out);
  };

  // ---- The fast path ----

  /** Whether the ring item at `off` of `src` and the one in `scratch` are the same sample (same JSON). */
  const sameAsScratch = (src: Float64Array, off: number): boolean => {
    if (src[off] !== scratch[0] || src[off + 1] !== scratch[1]) return false;
    const kind = scratch[1] as number;
    const n = kind === METER ? 1 : (layouts[kind] as Layout).n;
    for (let j = 2; j < 2 + n; j++) if (src[off + j] !== scratch[j]) return false;
    return true;
  };

  /** A sensor sample that changes nothing but the buffer: no value reaches a threshold of `p`, none is in an episode. */
  const quiet = (src: Float64Array, off: number, p: Profile): boolean => {
    const l = layouts[src[off + 1] as number] as Layout;
    for (let j = 0; j < l.n; j++) {
      const k = l.sensor[j] as number;
      if (k < 0) continue;
      const v = src[off + 2 + j] as number;
      if (!(v >= (p.quietFrom[k] as number) && v <= (p.quietTo[k] as number))) return false;
    }
    return true;
  };

  // What a fast meter reading leaves, between its check and its commit.
  let nextValue = 0;
  let nextTime = 0;
  let nextStall = 0;
  let nextTotal = 0;
  /**
   * An hour-meter reading at `t` that hygiene accepts (an advance it can have made, or an unchanged
   * meter not yet stalled) and that opens no work order, with no issue to clear: what it leaves
   * goes to `next…`; false for any other.
   */
  const plainReading = (b: Float64Array, t: number, raw: number, p: Profile, attributes: Readonly<Record<string, string>>): boolean => {
    const lastValue = b[B_HY_VALUE] as number;
    if (b[B_ISSUE] !== 0 || lastValue !== lastValue) return false;
    const lastTime = b[B_HY_TIME] as number;
    const confirmed = b[B_HY_CONFIRMED] as number;
    if (!(t > (confirmed === confirmed ? confirmed : lastTime))) return false;
    const delta = raw - lastValue;
    let usage: number;
    if (delta === 0) {
      if (t - lastTime > hygiene.stalledAfterMs) return false;
      nextValue = lastValue;
      nextTime = lastTime;
      nextStall = b[B_HY_STALL] as number;
      usage = 0;
    } else {
      if (!(delta > 0) || delta > ((t - lastTime) / HOUR_MS) * hygiene.maxRatePerHour * hygiene.wallClockTolerance + hygiene.resolutionSlack) return false;
      nextValue = raw;
      nextTime = t;
      nextStall = 1;
      usage = round6(delta);
    }
    const total = b[B_TOTAL] as number;
    const hours = total === total ? round6(total + usage) : raw;
    const rules = p.hourRules;
    for (let r = 0; r < rules.length; r++) {
      const i = rules[r] as number;
      const off = HEADER + i * SERVICE_FIELDS;
      if (b[off] !== 1) return false;
      const rule = services[i] as MaintenanceOptions['serviceIntervals'][number];
      const base = b[off + 1] as number;
      if (rule.baselineAttribute !== undefined) {
        const attr = attributeBaseline(rule, attributes);
        if (attr !== undefined && isLaterBaseline(attr, base)) return false;
      }
      const k = Math.floor((hours + rule.dueSoon - base) / rule.every + 1e-9);
      if (k < 1) continue;
      const firedDue = b[off + 3] as number;
      if (!(firedDue === firedDue && base + k * rule.every <= firedDue + 1e-9)) return false;
    }
    nextTotal = hours;
    return true;
  };
  /** Commits what {@link plainReading} found for a reading at `t`: hygiene, the counter and the history. */
  const commitReading = (b: Float64Array, t: number): void => {
    b[B_HY_VALUE] = nextValue;
    b[B_HY_TIME] = nextTime;
    b[B_HY_CONFIRMED] = t;
    b[B_HY_STALL] = nextStall;
    b[B_TOTAL] = nextTotal;
    let count = b[B_HISTORY] as number;
    if (count < 0) count = 0;
    // A reading older than the latest entry adds none (the pure rule's `olderThanLatest`).
    if (count > 0 && t < (b[HIST + (count - 1) * 2] as number)) return;
    const kept = count >= 2 && t - (b[HIST + (count - 2) * 2] as number) < history.spacingMs ? count - 1 : count;
    const from = Math.max(0, kept + 1 - history.max);
    if (from > 0) b.copyWithin(HIST, HIST + from * 2, HIST + kept * 2);
    b[HIST + (kept - from) * 2] = t;
    b[HIST + (kept - from) * 2 + 1] = nextTotal;
    b[B_HISTORY] = kept - from + 1;
  };

  // The item at merged index `j` (see `itemAt`): its array and offset.
  let src: Float64Array = scratch;
  let srcOff = 0;
  /** Points `src`/`srcOff` at item `j` of the pending items from ring index `p0`, with `scratch` at index `i` when `ins`. */
  const itemAt = (b: Float64Array, p0: number, ins: boolean, i: number, j: number): void => {
    if (ins && j === i) {
      src = scratch;
      srcOff = 0;
    } else {
      src = b;
      srcOff = slot(b, p0 + (ins && j > i ? j - 1 : j));
    }
  };
  /** The hour counter and history, kept while several readings are released at once (one may be for the pure rule). */
  const backup = new Float64Array(B_HISTORY + 1 - B_HY_VALUE + history.max * 2);
  const keep = (b: Float64Array, restore: boolean): void => {
    const n = B_HISTORY + 1 - B_HY_VALUE;
    for (let k = 0; k < n; k++) {
      if (restore) b[B_HY_VALUE + k] = backup[k] as number;
      else backup[k] = b[B_HY_VALUE + k] as number;
    }
    for (let k = 0; k < history.max * 2; k++) {
      if (restore) b[HIST + k] = backup[n + k] as number;
      else backup[n + k] = b[HIST + k] as number;
    }
  };

  /**
   * Decides the first `m` items released (of the pending items from ring index `p0`, with the
   * sample in `scratch` at index `i` when `ins`) here, as the pure rule would: quiet sensor samples
   * (nothing but the buffer changes) and plain hour-meter readings (the counter and the history).
   * False, with nothing changed, when one of them is for the pure rule. The buffer is the caller's.
   */
  const releaseHere = (a: number, b: Float64Array, p0: number, ins: boolean, i: number, m: number, p: Profile, ctx: RuleContext): boolean => {
    let meters = 0;
    for (let j = 0; j < m; j++) {
      itemAt(b, p0, ins, i, j);
      if (src[srcOff + 1] === METER) meters++;
      else if (b[B_SETTLED] !== 1 || !quiet(src, srcOff, p)) return false;
    }
    if (meters > 1) keep(b, false);
    for (let j = 0, done = 0; j < m && done < meters; j++) {
      itemAt(b, p0, ins, i, j);
      if (src[srcOff + 1] !== METER) continue;
      const t = src[srcOff] as number;
      if (!plainReading(b, t, src[srcOff + 2] as number, p, ctx.asset.attributes)) {
        if (done > 0) keep(b, true);
        return false;
      }
      commitReading(b, t);
      done++;
    }
    // The kinds released at the last one's time (one kind, as a rule).
    itemAt(b, p0, ins, i, m - 1);
    const t = src[srcOff] as number;
    const meter = src[srcOff + 1] === METER;
    let both = false;
    for (let j = m - 2; j >= 0 && !both; j--) {
      itemAt(b, p0, ins, i, j);
      if (src[srcOff] !== t) break;
      both = (src[srcOff + 1] === METER) !== meter;
    }
    kinds[a] = meter ? (both ? 'ms' : 'm') : both ? 'sm' : 's';
    return true;
  };
  /** The buffer after its first `m` pending items (from ring index `p0`) were released: those of the newest time are `last`. */
  const released = (b: Float64Array, p0: number, m: number): void => {
    const t = b[slot(b, p0 + m - 1)] as number;
    let newest = 1;
    while (newest < m && b[slot(b, p0 + m - 1 - newest)] === t) newest++;
    const cap = b[B_CAP] as number;
    const start = p0 + m - newest;
    b[B_START] = start >= cap ? start - cap : start;
    b[B_LAST] = newest;
    b[B_PENDING] = (b[B_PENDING] as number) - m;
    b[B_RELEASED] = t;
  };

  /** The sample in `scratch` offered to asset `a`'s buffer (the pure form's `admit` with `keepLast`, and what it releases). */
  const admitScratch = (a: number, event: CanonicalEvent, ctx: RuleContext, p: Profile, out: DeliveryIntent[]): number => {
    let b = blocks[a] as Float64Array;
    const t = scratch[0] as number;
    const lastCount = b[B_LAST] as number;
    if (t <= (b[B_RELEASED] as number)) {
      // One of the samples released last, sent again: a duplicate; anything else here is late (or taken late).
      for (let j = 0; j < lastCount; j++) if (sameAsScratch(b, slot(b, (b[B_START] as number) + j))) return 0;
      return pureApply(a, event, ctx, out);
    }
    const pendingCount = b[B_PENDING] as number;
    // Room for one more item (whatever is released, the ring then holds at most this many).
    const r = room(a, lastCount + pendingCount + 1);
    if (r === undefined) return pureApply(a, event, ctx, out);
    b = r;
    const p0 = (b[B_START] as number) + lastCount;
    let i = pendingCount;
    while (i > 0) {
      const off = slot(b, p0 + i - 1);
      const pt = b[off] as number;
      if (pt < t) break;
      if (pt === t) {
        const pk = b[off + 1] as number;
        if ((pk === METER) === (scratch[1] === METER)) {
          // Of one time and kind: the same sample (a duplicate), or ordered by JSON.
          if (sameAsScratch(b, off)) return 0;
          return pureApply(a, event, ctx, out);
        }
        // A meter reading before a sensor sample of its time.
        if (pk === METER) break;
      }
      i--;
    }
    const newest = b[B_NEWEST] as number;
    const nextNewest = newest !== newest || t > newest ? t : newest;
    const watermark = nextNewest - lateness;
    // Released: the items (the new one among them) at or before the watermark, oldest first.
    let m = 0;
    while (m <= pendingCount) {
      itemAt(b, p0, true, i, m);
      if (!((src[srcOff] as number) <= watermark)) break;
      m++;
    }
    if (m > 0 && !releaseHere(a, b, p0, true, i, m, p, ctx)) return pureApply(a, event, ctx, out);
    insert(b, p0, pendingCount, i);
    b[B_PENDING] = pendingCount + 1;
    if (m > 0) released(b, p0, m);
    b[B_NEWEST] = nextNewest;
    b[B_ORDER] = 1;
    b[B_EXISTS] = 1;
    return CHANGED;
  };
  /** The sample in `scratch` put at index `i` of the `count` pending items from ring index `p0` (room checked). */
  const insert = (b: Float64Array, p0: number, count: number, i: number): void => {
    for (let j = count; j > i; j--) b.copyWithin(slot(b, p0 + j), slot(b, p0 + j - 1), slot(b, p0 + j - 1) + S);
    b.set(scratch, slot(b, p0 + i));
  };

  return {
    name: pure.name,
    kinds: pure.kinds,
    load(a, stored) {
      blockOf(a);
      adopt(a, stored as MaintenanceState | undefined);
    },
    save(a) {
      if (blocks[a] === undefined) return undefined;
      return materialise(a);
    },
    drop(a) {
      const b = blockOf(a);
      clear(b);
      mode[a] = FAST;
      rest[a] = undefined;
      kinds[a] = undefined;
    },
    apply(a, event, ctx, out) {
      blockOf(a);
      if (mode[a] === PURE) return pureApply(a, event, ctx, out);
      const t = event.eventTime;
      if (event.kind === 'sensor') {
        const p = profile(ctx.asset);
        // No threshold for this asset: the pure rule takes no sensor sample.
        if (p.thresholds === 0) return 0;
        if (!Number.isFinite(t) || !sensorItem(event.values)) return pureApply(a, event, ctx, out);
        const l = layouts[scratch[1] as number] as Layout;
        let reads = false;
        for (let j = 0; j < l.n && !reads; j++) reads = l.sensor[j] !== -1 && p.reads[l.sensor[j] as number] === 1;
        // None of its sensors is read: no sample (the state as it is).
        if (!reads) return 0;
        scratch[0] = t;
        return admitScratch(a, event, ctx, p, out);
      }
      if (event.kind === 'meter') {
        const p = profile(ctx.asset);
        const h = p.trackHours ? event.operatingHours : undefined;
        if (p.trackKm && event.odometerKm !== undefined) return pureApply(a, event, ctx, out);
        if (h === undefined) return 0;
        if (event.declaredReset === true || !Number.isFinite(h) || !Number.isFinite(t)) return pureApply(a, event, ctx, out);
        scratch[0] = t;
        scratch[1] = METER;
        scratch[2] = h;
        return admitScratch(a, event, ctx, p, out);
      }
      return pureApply(a, event, ctx, out);
    },
    flush(a, ctx, upTo, out) {
      const b = blockOf(a);
      if (mode[a] === PURE) return pureFlush(a, ctx, upTo, out);
      const pendingCount = b[B_PENDING] as number;
      // Nothing held: the pure rule returns the state as it is.
      if (b[B_ORDER] !== 1 || pendingCount === 0) return 0;
      const p0 = (b[B_START] as number) + (b[B_LAST] as number);
      let m = pendingCount;
      let newest = b[B_NEWEST] as number;
      if (upTo !== undefined) {
        // An idle watermark: what is final by then (nothing: the state as it is).
        newest = Math.max(newest === newest ? newest : upTo, upTo);
        m = 0;
        while (m < pendingCount && (b[slot(b, p0 + m)] as number) <= newest - lateness) m++;
        if (m === 0) return 0;
      }
      if (!releaseHere(a, b, p0, false, -1, m, profile(ctx.asset), ctx)) return pureFlush(a, ctx, upTo, out);
      released(b, p0, m);
      b[B_NEWEST] = newest;
      return CHANGED;
    },
    holds(a) {
      const b = blocks[a];
      if (b === undefined) return false;
      if (mode[a] === PURE) return pure.holds(rest[a]);
      return b[B_ORDER] === 1 && (b[B_PENDING] as number) > 0;
    },
  };
}
