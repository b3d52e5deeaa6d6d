/**
 * The maintenance rule's owned form (owned.ts): every asset's state kept by the rule, changed in
 * place, and saved as the pure form's {@link MaintenanceState}.
 *
 * A row per asset in one Float64Array holds what changes on the ingest hot path: the reorder
 * buffer (a ring of samples, sensor values by interned layout; one capacity for all rows, grown
 * when an asset holds more, and one item width, grown when a sample has more values), the hour
 * counter and its hygiene, the hours history and the service schedules; `releasedKinds` sits beside it, and `latest` (every sensor's latest value, for the
 * work orders' snapshots) in small per-asset arrays updated in place as sensor samples are released. The rest of the state (thresholds, work orders,
 * odometer, issues, calendars, alerts, completions) stays in the pure state object last taken,
 * which the fast path never changes (it takes a copy holding the work orders it opens). The fast path covers what most events are: a sensor or plain
 * hour-meter sample admitted to the buffer (not late, no other sample of its time and kind held),
 * and the samples it releases when each is a quiet sensor sample (no value reaches a threshold, no
 * threshold in an episode: only the buffer changes) or an hour-meter reading hygiene accepts, the
 * first one included (the counter, the history and the schedules change, and the service work
 * orders it opens are opened as the pure rule opens them); idle watermarks releasing such samples
 * too. Anything else (late samples, breaches and episodes, flagged readings and the one clearing
 * the issue, resets, odometers, alerts, ERP feedback, more held than the ring holds, a sample with
 * more values than its items hold) is
 * run by the pure rule on the state as the pure form holds it, and the state it returns is taken
 * back into columns, or kept as it is (pure mode) while it holds what columns cannot. Exactness is
 * by construction there, and tested against the pure rule everywhere else
 * (maintenance-rule-owned.property.test.ts).
 *
 * `saveJson` writes the saved state's JSON text from the columns (state-json.ts); the fields kept in
 * the pure state, and a state in pure mode, by `JSON.stringify`.
 * @module
 */
import type { AssetRecord } from '../../model/assets.js';
import type { DeliveryIntent } from '../../model/delivery.js';
import type { CanonicalEvent, SensorValue } from '../../model/events.js';
import type { FlushableRule } from '../event-time.js';
import { HELD_METER_HYGIENE, wallClockAllowance } from '../meter-hygiene.js';
import { CHANGED, DUPLICATE, LATE, type OwnedRule } from '../owned.js';
import type { RuleContext, RuleResult } from '../rule.js';
import { jsonNumber, jsonString, plainKey } from '../state-json.js';
import { BUFFER_GROWTH_BUDGET_BYTES } from '../owned.js';
import type { MaintenanceSample, MaintenanceState } from './maintenance-rule.js';
import { coveringWorkOrder, openServiceWorkOrder, type ForgottenTally } from './work-order-memory.js';
import { attributeBaseline, initialBaseline, isLaterBaseline, stepService, withAttributeBaseline, type ServiceState } from './service-interval.js';
import { matchesFilter, type AssetFilter, type MaintenanceOptions, type ServiceIntervalRule } from './types.js';
import { keepable, keepsLatestFor, MAX_LATEST_SENSORS, withLatest, type LatestSensors } from './latest-sensors.js';

/** The pure rule's history bounds (maintenance-rule.ts), which the columns replicate. */
export interface HistoryBounds {
  readonly spacingMs: number;
  readonly max: number;
}

type Writable = { -readonly [K in keyof MaintenanceState]: MaintenanceState[K] };

// An asset's row (one Float64Array holds every asset's, `stride` apart). NaN stands for an absent number.
// What every sample reads first, together:
const B_EXISTS = 0; // 1: the asset has a state (possibly `{}`)
const B_ORDER = 1; // 1: `order` present
const B_RELEASED = 2;
const B_NEWEST = 3;
const B_START = 4; // ring index of the first `last` item
const B_LAST = 5; // count of `last` items (0: absent)
const B_PENDING = 6;
const B_SETTLED = 7; // 1: every threshold state normal, no repeats counted
// The hour meter:
const B_HOURS = 8; // 1: `hours` present
const B_HY_VALUE = 9; // hygiene.last (NaN: absent)
const B_HY_TIME = 10;
const B_HY_CONFIRMED = 11;
const B_HY_STALL = 12; // 0 absent, 1 false, 2 true
const B_HY_RESET_VALUE = 13; // hygiene.lastReset (NaN: absent)
const B_HY_RESET_TIME = 14;
const B_TOTAL = 15;
const B_HISTORY = 16; // entries; -1: absent
const B_SERVICES = 17; // 1: `services` present
const B_ISSUE = 18; // 1: `meterIssue` present
const HEADER = 19;
/** Per service interval (config order): present, base, baseAt, firedDue; then the history; then the ring. */
const SERVICE_FIELDS = 4;

/** A ring item: [t, kind (-1: meter reading `h`; ≥ 0: a sensor layout), values…]. */
const METER = -1;
const FIRST_CAP = 8;
/**
 * More samples held by one asset than this: its buffer stays in the pure form (the ring is as large
 * for every asset). The ring also grows only while every asset's fits BUFFER_GROWTH_BUDGET_BYTES,
 * and shrinks back (the assets holding more go to the pure form) when more assets would take it past.
 */
const MAX_CAP = 64;
const FIRST_ASSETS = 64;
/** Distinct sensor layouts (names, order, units) interned; beyond, samples of new ones take the pure form. */
const MAX_LAYOUTS = 256;
/**
 * The values a ring item holds (its width, one for every asset): at first the thresholds' sensors
 * (at least 4), grown when a sample has more values (every sensor sample is buffered while a
 * service, calendar or alert rule keeps the sensors' latest values for its snapshots, and a device
 * sends all its sensors in one message). Up to FREE_WIDTH it grows for every asset (what a
 * configuration of as many threshold sensors takes from the start); beyond, within the buffer budget
 * (BUFFER_GROWTH_BUDGET_BYTES, as the capacity), and back to FREE_WIDTH when more assets would take it
 * past (the assets holding wider samples go to the pure form). A sample of more than MAX_WIDTH values
 * (the most sensors `latest` keeps) takes the pure form.
 */
const FREE_WIDTH = 16;
const WIDTH_STEP = 16;
const MAX_WIDTH = MAX_LATEST_SENSORS;

const FAST = 0;
const PURE = 1;

const STATE_KEYS = new Set(['order', 'releasedKinds', 'hours', 'history', 'km', 'kmHistory', 'thresholds', 'services', 'workOrders', 'meterIssue', 'odometerIssue', 'calendars', 'alerts', 'lateAlertsFrom', 'lateAlertFaults', 'completed', 'openForgotten', 'latest']);
/** A name JSON writes before the others (an array index): `latest` with one is written by JSON.stringify. */
const INDEX_LIKE = /^(?:0|[1-9]\d*)$/;
const round6 = (v: number): number => Math.round(v * 1e6) / 1e6;

/** The names, order and units of a sensor sample's values (its JSON shape). */
interface Layout {
  readonly n: number;
  readonly names: readonly string[];
  readonly units: readonly (string | undefined)[];
  /** Per value, the index of its sensor among the thresholds' sensors (-1: none reads it). */
  readonly sensor: Int32Array;
  /** The JSON text around each value in a sample's `v` (undefined: a name {@link plainKey} is not). */
  readonly json: ValuesJson | undefined;
}

/** Per value of a layout: the text before its number (`"name":` or `"name":[`, a comma first after the first) and after it (`,"unit"]` or none). */
interface ValuesJson {
  readonly before: readonly string[];
  readonly after: readonly string[];
}

/** The {@link Layout.json} of `names` and `units`. */
const valuesJson = (names: readonly string[], units: readonly (string | undefined)[]): ValuesJson | undefined => {
  if (!names.every(plainKey)) return undefined;
  const before = names.map((name, j) => `${j > 0 ? ',' : ''}${jsonString(name)}:${units[j] !== undefined ? '[' : ''}`);
  const after = units.map((unit) => (unit !== undefined ? `,${jsonString(unit)}]` : ''));
  return { before, after };
};

/** What applies to an asset (as the pure rule's `applicableOf`), by sensor and service index. */
interface Profile {
  readonly thresholds: number;
  /** Per sensor, the values no threshold of this asset's counts as a breach (a sensor it does not read: all). */
  readonly quietFrom: Float64Array;
  readonly quietTo: Float64Array;
  /** Indices (in `serviceIntervals`) of the hour-meter intervals that apply. */
  readonly hourRules: Int32Array;
  readonly trackHours: boolean;
  readonly trackKm: boolean;
  /** Every sensor's latest value is kept (the pure rule's `keepsLatest`: a threshold, alert, service or calendar rule applies). */
  readonly keepsLatest: boolean;
}

/** A fresh owned form of `pure` (the rule built from `options`). */
/** The owned maintenance rule, with the bytes its columns take (for tests and measurements). */
export interface OwnedMaintenanceRule extends OwnedRule {
  readonly bufferBytes: number;
}

export function createOwnedMaintenanceRule(pure: FlushableRule<MaintenanceState>, options: MaintenanceOptions, history: HistoryBounds, bufferBudgetBytes = BUFFER_GROWTH_BUDGET_BYTES): OwnedMaintenanceRule {
  const lateness = options.allowedLatenessMs;
  const services = options.serviceIntervals;
  const serviceIndex = new Map(services.map((r, i) => [r.name, i]));
  const sensors = [...new Set(options.thresholds.map((r) => r.sensor))];
  const sensorIndex = new Map(sensors.map((s, i) => [s, i]));
  let W = Math.max(4, Math.min(FREE_WIDTH, sensors.length));
  /** A ring item's size: time, kind, W values. */
  let S = 2 + W;
  const HIST = HEADER + services.length * SERVICE_FIELDS;
  const RING = HIST + history.max * 2;
  const hygiene = HELD_METER_HYGIENE;

  const profileOf = (asset: AssetRecord): Profile => {
    const thresholds = options.thresholds.filter((r) => matchesFilter(asset, r.appliesTo));
    const quietFrom = new Float64Array(sensors.length).fill(-Infinity);
    const quietTo = new Float64Array(sensors.length).fill(Infinity);
    for (const r of thresholds) {
      const k = sensorIndex.get(r.sensor) as number;
      if (r.direction === 'above') quietTo[k] = Math.min(quietTo[k] as number, r.threshold);
      else quietFrom[k] = Math.max(quietFrom[k] as number, r.threshold);
    }
    const applying = services.map((r, i) => [r, i] as const).filter(([r]) => matchesFilter(asset, r.appliesTo));
    const calendarMeters = (options.calendarIntervals ?? []).filter((r) => r.orMeter !== undefined && matchesFilter(asset, r.appliesTo)).map((r) => r.orMeter?.meter);
    const hourRules = Int32Array.from(applying.filter(([r]) => r.meter === 'hours').map(([, i]) => i));
    return {
      thresholds: thresholds.length,
      keepsLatest: keepsLatestFor(options, asset),
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
    if (names.length > MAX_WIDTH || layouts.length >= MAX_LAYOUTS) return -1;
    layouts.push({ n: names.length, names, units, sensor: Int32Array.from(names.map((n) => sensorIndex.get(n) ?? -1)), json: valuesJson(names, units) });
    return layouts.length - 1;
  };

  /** The event's values as an item in `scratch` (kind and values; true), if of a layout kept in columns (the ring items widened for it if need be). */
  const scratch = new Float64Array(2 + MAX_WIDTH);
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
    if (id < 0) return false;
    const l = layouts[id] as Layout;
    if ((l.n > W && !widen(l.n)) || !fits(l, values)) return false;
    lastLayout = id;
    scratch[1] = id;
    return true;
  };

  // Per asset: a row of `data`, and beside it the mode, the pure state last taken and `releasedKinds`.
  let cap = FIRST_CAP;
  let stride = RING + cap * S;
  let assets = FIRST_ASSETS;
  let data = new Float64Array(assets * stride);
  const mode: number[] = [];
  /** The pure state last taken: the source of the fields not in columns (fast mode), or the whole state (pure mode). */
  const rest: (MaintenanceState | undefined)[] = [];
  const kinds: (string | undefined)[] = [];
  /**
   * Per asset, `latest` (every sensor's latest value): the sensors' names and units by slot (in the
   * order first seen, as the pure form's object keys), and `[t, value]` per slot; undefined: absent.
   * Changed in place: a new array only when a new sensor is seen.
   */
  const latestNames: (string[] | undefined)[] = [];
  const latestUnits: (string | undefined)[][] = [];
  const latestNum: Float64Array[] = [];
  /** How many rows are in use (indices below it have been set up). */
  let used = 0;

  /** The row of asset `a` (set up, with room for it). */
  const rowOf = (a: number): number => {
    if (a >= used) {
      if (a >= assets) {
        let n = assets * 2;
        while (n <= a) n *= 2;
        // A ring grown for some asset's sake is not made that large for many more assets.
        if ((cap > FIRST_CAP || W > FREE_WIDTH) && n * stride * 8 > bufferBudgetBytes) shrink(n);
        const next = new Float64Array(n * stride);
        next.set(data);
        data = next;
        assets = n;
      }
      for (let i = used; i <= a; i++) {
        clear(i * stride);
        mode[i] = FAST;
        rest[i] = undefined;
        kinds[i] = undefined;
        latestNames[i] = undefined;
      }
      used = a + 1;
    }
    return a * stride;
  };
  /** Offset of ring item `j` (j < 2·cap) of the row at `o`. */
  const at = (o: number, j: number): number => o + RING + (j >= cap ? j - cap : j) * S;
  /**
   * Room for `items` ring items in every row (a larger ring for all, each row's items from index 0
   * on); false: more than columns hold.
   */
  const room = (items: number): boolean => {
    if (items <= cap) return true;
    if (items > MAX_CAP) return false;
    let next = cap * 2;
    while (next < items) next *= 2;
    // Every asset's ring this large would take more than the budget: this asset's buffer takes the pure form.
    if (assets * (RING + next * S) * 8 > bufferBudgetBytes) return false;
    resize(next, W, assets);
    return true;
  };
  /**
   * Ring items of `n` values (more than W) in every row, a wider item for all (it then stays, unless
   * {@link shrink} takes it back); false: more than columns hold.
   */
  const widen = (n: number): boolean => {
    if (n > MAX_WIDTH) return false;
    // Twice as wide up to FREE_WIDTH; beyond, to a multiple of WIDTH_STEP (a few resizes at most, none much wider than needed).
    let next = W * 2;
    while (next < n) next *= 2;
    next = n <= FREE_WIDTH ? Math.min(next, FREE_WIDTH) : Math.min(MAX_WIDTH, Math.ceil(n / WIDTH_STEP) * WIDTH_STEP);
    // Wider than FREE_WIDTH for every asset past the budget: this sample takes the pure form.
    if (next > FREE_WIDTH && assets * (RING + cap * (2 + next)) * 8 > bufferBudgetBytes) return false;
    resize(cap, next, assets);
    return true;
  };
  /** Every row with a ring of `next` items of `width` values, for `rows` assets, each row's items from index 0 on (they fit). */
  const resize = (next: number, width: number, rows: number): void => {
    const nextS = 2 + width;
    const nextStride = RING + next * nextS;
    const nd = new Float64Array(rows * nextStride);
    const n = Math.min(S, nextS);
    for (let a = 0; a < used; a++) {
      const o = a * stride;
      const no = a * nextStride;
      for (let k = 0; k < RING; k++) nd[no + k] = data[o + k] as number;
      if (mode[a] === PURE) continue; // its row means nothing
      const start = data[o + B_START] as number;
      const count = (data[o + B_LAST] as number) + (data[o + B_PENDING] as number);
      for (let j = 0; j < count; j++) {
        const from = o + RING + ((start + j) % cap) * S;
        const to = no + RING + j * nextS;
        for (let k = 0; k < n; k++) nd[to + k] = data[from + k] as number;
      }
      nd[no + B_START] = 0;
    }
    // The layout last seen may be wider than the items now are.
    if (width < W) lastLayout = -1;
    data = nd;
    cap = next;
    W = width;
    S = nextS;
    stride = nextStride;
    assets = rows;
  };
  /** Whether one of the `count` ring items of the row at `o` is a sensor sample of more than `width` values. */
  const wider = (o: number, count: number, width: number): boolean => {
    const start = data[o + B_START] as number;
    for (let j = 0; j < count; j++) {
      const kind = data[at(o, start + j) + 1] as number;
      if (kind !== METER && (layouts[kind] as Layout).n > width) return true;
    }
    return false;
  };
  /**
   * The ring made smaller (fewer items, then items no wider than FREE_WIDTH), so `rows` assets' rows
   * fit the budget: the assets holding more items, or wider ones, than the smaller ring take the
   * pure form, with their state as the columns hold it.
   */
  const shrink = (rows: number): void => {
    let next = cap;
    while (next > FIRST_CAP && rows * (RING + next * S) * 8 > bufferBudgetBytes) next /= 2;
    let width = W;
    while (width > FREE_WIDTH && rows * (RING + next * (2 + width)) * 8 > bufferBudgetBytes) width = Math.max(FREE_WIDTH, Math.ceil(width / WIDTH_STEP) * WIDTH_STEP - WIDTH_STEP);
    if (next === cap && width === W) return;
    for (let a = 0; a < used; a++) {
      if (mode[a] === PURE) continue;
      const o = a * stride;
      const count = (data[o + B_LAST] as number) + (data[o + B_PENDING] as number);
      if (count <= next && (width === W || !wider(o, count, width))) continue;
      const state = materialise(a);
      mode[a] = PURE;
      rest[a] = state;
      kinds[a] = undefined;
    }
    resize(next, width, assets);
  };

  /** The row at `o` as no state. */
  function clear(o: number): void {
    const d = data;
    d[o + B_EXISTS] = 0;
    d[o + B_ORDER] = 0;
    d[o + B_RELEASED] = NaN;
    d[o + B_NEWEST] = NaN;
    d[o + B_START] = 0;
    d[o + B_LAST] = 0;
    d[o + B_PENDING] = 0;
    d[o + B_SETTLED] = 1;
    d[o + B_HOURS] = 0;
    d[o + B_HY_VALUE] = NaN;
    d[o + B_HY_TIME] = NaN;
    d[o + B_HY_CONFIRMED] = NaN;
    d[o + B_HY_STALL] = 0;
    d[o + B_HY_RESET_VALUE] = NaN;
    d[o + B_HY_RESET_TIME] = NaN;
    d[o + B_TOTAL] = NaN;
    d[o + B_HISTORY] = -1;
    d[o + B_SERVICES] = 0;
    d[o + B_ISSUE] = 0;
    for (let i = 0; i < services.length; i++) d[o + HEADER + i * SERVICE_FIELDS] = 0;
  }

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

  /** One buffered sample into the ring at (absolute) `off`; false when columns cannot hold it. */
  const writeSample = (off: number, x: unknown): boolean => {
    const d = data;
    if (!isObject(x) || !finite(x.t)) return false;
    d[off] = x.t;
    if (x.k === 'm') {
      if (!only(x, ['t', 'k', 'h']) || !finite(x.h)) return false;
      d[off + 1] = METER;
      d[off + 2] = x.h;
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
    // (toColumns widened the items for its samples first.)
    if (id < 0 || (layouts[id] as Layout).n > W) return false;
    d[off + 1] = id;
    for (let j = 0; j < values.length; j++) d[off + 2 + j] = values[j] as number;
    return true;
  };

  /** The most values of a sensor sample among the buffered `items` (as stored; 0: none). */
  const widest = (items: readonly unknown[]): number => {
    let n = 0;
    for (const x of items) if (isObject(x) && isObject(x.v)) n = Math.max(n, Object.keys(x.v).length);
    return n;
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
    rowOf(a);
    clear(a * stride);
    kinds[a] = undefined;
    rest[a] = undefined;
    latestNames[a] = undefined;
    if (state === undefined) return true;
    if (!isObject(state)) return false;
    for (const k in state) if (state[k] !== undefined && !STATE_KEYS.has(k)) return false;
    const s = state as Writable;
    const order: unknown = s.order;
    if (order !== undefined) {
      if (!isObject(order) || !only(order, ['released', 'newest', 'pending', 'last']) || !optionalFinite(order.released) || !optionalFinite(order.newest)) return false;
      const pending = order.pending;
      const last = order.last;
      if (!Array.isArray(pending) || (last !== undefined && (!Array.isArray(last) || last.length === 0))) return false;
      const lastCount = last === undefined ? 0 : last.length;
      const width = Math.max(widest(pending), last === undefined ? 0 : widest(last));
      if ((width > W && !widen(width)) || !room(lastCount + pending.length + 1)) return false;
      const o = a * stride;
      data[o + B_ORDER] = 1;
      data[o + B_RELEASED] = order.released === undefined ? NaN : (order.released as number);
      data[o + B_NEWEST] = order.newest === undefined ? NaN : (order.newest as number);
      for (let j = 0; j < lastCount; j++) if (!writeSample(at(o, j), (last as unknown[])[j])) return false;
      for (let j = 0; j < pending.length; j++) if (!writeSample(at(o, lastCount + j), pending[j])) return false;
      data[o + B_LAST] = lastCount;
      data[o + B_PENDING] = pending.length;
    }
    const o = a * stride;
    const d = data;
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
        d[o + B_HY_VALUE] = hy.last.value;
        d[o + B_HY_TIME] = hy.last.eventTime;
      }
      if (hy.lastReset !== undefined) {
        if (!reading(hy.lastReset)) return false;
        d[o + B_HY_RESET_VALUE] = hy.lastReset.value;
        d[o + B_HY_RESET_TIME] = hy.lastReset.eventTime;
      }
      d[o + B_HY_CONFIRMED] = hy.confirmedAt === undefined ? NaN : (hy.confirmedAt as number);
      d[o + B_HY_STALL] = hy.stallFlagged === undefined ? 0 : hy.stallFlagged ? 2 : 1;
      d[o + B_TOTAL] = h.total === undefined ? NaN : (h.total as number);
      d[o + B_HOURS] = 1;
    }
    const hist: unknown = s.history;
    if (hist !== undefined) {
      if (!Array.isArray(hist) || hist.length > history.max) return false;
      for (let j = 0; j < hist.length; j++) {
        const e: unknown = hist[j];
        if (!Array.isArray(e) || e.length !== 2 || !finite(e[0]) || !finite(e[1])) return false;
        d[o + HIST + j * 2] = e[0];
        d[o + HIST + j * 2 + 1] = e[1];
      }
      d[o + B_HISTORY] = hist.length;
    }
    const sv: unknown = s.services;
    if (sv !== undefined) {
      if (!isObject(sv)) return false;
      for (const name in sv) {
        const v = sv[name];
        if (v === undefined) continue;
        const i = serviceIndex.get(name);
        if (i === undefined || !isObject(v) || !only(v, ['base', 'baseAt', 'firedDue']) || !finite(v.base) || !optionalFinite(v.baseAt) || !optionalFinite(v.firedDue)) return false;
        const off = o + HEADER + i * SERVICE_FIELDS;
        d[off] = 1;
        d[off + 1] = v.base;
        d[off + 2] = v.baseAt === undefined ? NaN : (v.baseAt as number);
        d[off + 3] = v.firedDue === undefined ? NaN : (v.firedDue as number);
      }
      d[o + B_SERVICES] = 1;
    }
    if (!latestToColumns(a, s.latest)) return false;
    d[o + B_SETTLED] = settledOf(s.thresholds) ? 1 : 0;
    d[o + B_ISSUE] = s.meterIssue !== undefined ? 1 : 0;
    d[o + B_EXISTS] = 1;
    rest[a] = s;
    return true;
  };

  /** `latest` (as the pure form holds it) into asset `a`'s slots, reusing its arrays; false when they cannot hold it. */
  function latestToColumns(a: number, latest: unknown): boolean {
    if (latest === undefined) return true;
    if (!isObject(latest)) return false;
    const names = latestNamesOf(a);
    const units = latestUnits[a] as (string | undefined)[];
    let num = latestNum[a] as Float64Array;
    for (const name in latest) {
      const e = latest[name];
      if (e === undefined) continue;
      if (!Array.isArray(e) || (e.length !== 2 && e.length !== 3) || !finite(e[0]) || !finite(e[1]) || !keepable(name, e[1]) || (e.length === 3 && typeof e[2] !== 'string')) return false;
      if (names.length >= MAX_LATEST_SENSORS) return false;
      const k = names.length;
      if (num.length < (k + 1) * 2) latestNum[a] = num = grown(num);
      names.push(name);
      units.push(e.length === 3 ? (e[2] as string) : undefined);
      num[k * 2] = e[0];
      num[k * 2 + 1] = e[1];
    }
    return true;
  }
  /** Asset `a`'s `latest` slots, present and empty (its units and values arrays reused). */
  function latestNamesOf(a: number): string[] {
    const names: string[] = [];
    latestNames[a] = names;
    const units = latestUnits[a];
    if (units === undefined) {
      latestUnits[a] = [];
      latestNum[a] = new Float64Array(16);
    } else units.length = 0;
    return names;
  }
  const grown = (num: Float64Array): Float64Array => {
    const next = new Float64Array(Math.min(num.length * 2, MAX_LATEST_SENSORS * 2));
    next.set(num);
    return next;
  };
  /**
   * The sensor values of the ring item at (absolute) `off`, released now, into asset `a`'s
   * `latest`, as the pure form's `withLatest` (each replacing one not newer; a new sensor while
   * fewer than MAX_LATEST_SENSORS are kept), in place.
   */
  const noteLatest = (a: number, off: number): void => {
    const d = data;
    const t = d[off] as number;
    const l = layouts[d[off + 1] as number] as Layout;
    let names = latestNames[a];
    for (let j = 0; j < l.n; j++) {
      const name = l.names[j] as string;
      const unit = l.units[j];
      const value = d[off + 2 + j] as number;
      if (!keepable(name, value)) continue;
      let k = -1;
      if (names !== undefined) {
        // A device sends its sensors in one order: the j-th value's slot is the j-th, as a rule.
        if (j < names.length && names[j] === name) k = j;
        else {
          for (let i = 0; i < names.length; i++) {
            if (names[i] === name) {
              k = i;
              break;
            }
          }
        }
      }
      if (k < 0) {
        names ??= latestNamesOf(a);
        if (names.length >= MAX_LATEST_SENSORS) continue;
        k = names.length;
        let num = latestNum[a] as Float64Array;
        if (num.length < (k + 1) * 2) latestNum[a] = num = grown(num);
        names.push(name);
        (latestUnits[a] as (string | undefined)[]).push(unit);
        num[k * 2] = t;
        num[k * 2 + 1] = value;
        continue;
      }
      const num = latestNum[a] as Float64Array;
      const units = latestUnits[a] as (string | undefined)[];
      const ct = num[k * 2] as number;
      if (t < ct || (t === ct && num[k * 2 + 1] === value && units[k] === unit)) continue;
      num[k * 2] = t;
      num[k * 2 + 1] = value;
      units[k] = unit;
    }
  };
  /** Asset `a`'s `latest` as the pure form holds it (a fresh object). */
  const latestOf = (a: number): LatestSensors => {
    const names = latestNames[a] as string[];
    const units = latestUnits[a] as (string | undefined)[];
    const num = latestNum[a] as Float64Array;
    const l: Record<string, readonly [number, number] | readonly [number, number, string]> = {};
    for (let k = 0; k < names.length; k++) {
      const unit = units[k];
      l[names[k] as string] = unit !== undefined ? [num[k * 2] as number, num[k * 2 + 1] as number, unit] : [num[k * 2] as number, num[k * 2 + 1] as number];
    }
    return l;
  };
  /** {@link latestOf}'s JSON text, with a leading comma (none when absent). */
  const latestJson = (a: number): string => {
    const names = latestNames[a];
    if (names === undefined) return '';
    const units = latestUnits[a] as (string | undefined)[];
    const num = latestNum[a] as Float64Array;
    let s = '';
    for (let k = 0; k < names.length; k++) {
      const name = names[k] as string;
      // JSON writes index-like keys first, and escapes what plainKey does not take: JSON.stringify then.
      if (INDEX_LIKE.test(name) || !plainKey(name)) return `,"latest":${JSON.stringify(latestOf(a))}`;
      const unit = units[k];
      s += `${k > 0 ? ',' : ''}${jsonString(name)}:[${jsonNumber(num[k * 2] as number)},${jsonNumber(num[k * 2 + 1] as number)}${unit !== undefined ? `,${jsonString(unit)}` : ''}]`;
    }
    return `,"latest":{${s}}`;
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

  const sampleAt = (off: number): MaintenanceSample => {
    const d = data;
    const t = d[off] as number;
    const kind = d[off + 1] as number;
    if (kind === METER) return { t, k: 'm', h: d[off + 2] as number };
    const l = layouts[kind] as Layout;
    const v: Record<string, number | readonly [number, string]> = {};
    for (let j = 0; j < l.n; j++) {
      const unit = l.units[j];
      v[l.names[j] as string] = unit !== undefined ? [d[off + 2 + j] as number, unit] : (d[off + 2 + j] as number);
    }
    return { t, k: 's', v };
  };
  const num = (v: number): number | undefined => (v === v ? v : undefined);
  /** The service schedules of the row at `o` (`services` present), as the pure form holds them. */
  const servicesAt = (o: number): NonNullable<MaintenanceState['services']> => {
    const d = data;
    const sv: Record<string, { base: number; baseAt?: number; firedDue?: number }> = {};
    for (let i = 0; i < services.length; i++) {
      const off = o + HEADER + i * SERVICE_FIELDS;
      if (d[off] !== 1) continue;
      const baseAt = num(d[off + 2] as number);
      const firedDue = num(d[off + 3] as number);
      sv[(services[i] as { name: string }).name] = { base: d[off + 1] as number, ...(baseAt !== undefined ? { baseAt } : {}), ...(firedDue !== undefined ? { firedDue } : {}) };
    }
    return sv;
  };

  const materialise = (a: number): MaintenanceState | undefined => {
    if (mode[a] === PURE) return rest[a];
    const o = a * stride;
    const d = data;
    if (d[o + B_EXISTS] === 0) return undefined;
    const r = rest[a] ?? {};
    const s: Writable = {};
    if (d[o + B_ORDER] === 1) {
      const start = d[o + B_START] as number;
      const lastCount = d[o + B_LAST] as number;
      const pendingCount = d[o + B_PENDING] as number;
      const pending: MaintenanceSample[] = [];
      for (let j = 0; j < pendingCount; j++) pending.push(sampleAt(at(o, start + lastCount + j)));
      let last: MaintenanceSample[] | undefined;
      if (lastCount > 0) {
        last = [];
        for (let j = 0; j < lastCount; j++) last.push(sampleAt(at(o, start + j)));
      }
      // Of the pure form's shape: every field present, undefined where absent (JSON drops those).
      s.order = { released: num(d[o + B_RELEASED] as number), newest: num(d[o + B_NEWEST] as number), pending, last };
    }
    if (kinds[a] !== undefined) s.releasedKinds = kinds[a];
    if (d[o + B_HOURS] === 1) {
      const hy: { last?: { value: number; eventTime: number }; confirmedAt?: number; stallFlagged?: boolean; lastReset?: { value: number; eventTime: number } } = {};
      if (d[o + B_HY_VALUE] === d[o + B_HY_VALUE]) hy.last = { value: d[o + B_HY_VALUE] as number, eventTime: d[o + B_HY_TIME] as number };
      const confirmedAt = num(d[o + B_HY_CONFIRMED] as number);
      if (confirmedAt !== undefined) hy.confirmedAt = confirmedAt;
      if (d[o + B_HY_STALL] !== 0) hy.stallFlagged = d[o + B_HY_STALL] === 2;
      if (d[o + B_HY_RESET_VALUE] === d[o + B_HY_RESET_VALUE]) hy.lastReset = { value: d[o + B_HY_RESET_VALUE] as number, eventTime: d[o + B_HY_RESET_TIME] as number };
      const total = num(d[o + B_TOTAL] as number);
      s.hours = total !== undefined ? { hygiene: hy, total } : { hygiene: hy };
    }
    const count = d[o + B_HISTORY] as number;
    if (count >= 0) {
      const h: (readonly [number, number])[] = [];
      for (let j = 0; j < count; j++) h.push([d[o + HIST + j * 2] as number, d[o + HIST + j * 2 + 1] as number]);
      s.history = h;
    }
    if (r.km !== undefined) s.km = r.km;
    if (r.kmHistory !== undefined) s.kmHistory = r.kmHistory;
    if (r.thresholds !== undefined) s.thresholds = r.thresholds;
    if (d[o + B_SERVICES] === 1) s.services = servicesAt(o);
    if (r.workOrders !== undefined) s.workOrders = r.workOrders;
    if (r.meterIssue !== undefined) s.meterIssue = r.meterIssue;
    if (r.odometerIssue !== undefined) s.odometerIssue = r.odometerIssue;
    if (r.calendars !== undefined) s.calendars = r.calendars;
    if (r.alerts !== undefined) s.alerts = r.alerts;
    if (r.lateAlertsFrom !== undefined) s.lateAlertsFrom = r.lateAlertsFrom;
    if (r.lateAlertFaults !== undefined) s.lateAlertFaults = r.lateAlertFaults;
    if (r.completed !== undefined) s.completed = r.completed;
    if (r.openForgotten !== undefined) s.openForgotten = r.openForgotten;
    if (latestNames[a] !== undefined) s.latest = latestOf(a);
    return s;
  };

  // ---- From columns to the pure state's JSON text (saveJson: JSON.stringify(materialise), written here) ----

  /** The services' keys (`"name":`) in `services`, when JSON writes them in config order (each plain, none twice). */
  const serviceKeys = services.every((r) => plainKey(r.name)) && serviceIndex.size === services.length ? services.map((r) => `${jsonString(r.name)}:`) : undefined;

  /** {@link sampleAt}'s JSON text. */
  const sampleJson = (off: number): string => {
    const d = data;
    const t = jsonNumber(d[off] as number);
    const kind = d[off + 1] as number;
    if (kind === METER) return `{"t":${t},"k":"m","h":${jsonNumber(d[off + 2] as number)}}`;
    const l = layouts[kind] as Layout;
    const j = l.json;
    if (j === undefined) return JSON.stringify(sampleAt(off));
    let v = '';
    for (let k = 0; k < l.n; k++) v += `${j.before[k] as string}${jsonNumber(d[off + 2 + k] as number)}${j.after[k] as string}`;
    return `{"t":${t},"k":"s","v":{${v}}}`;
  };
  /** The JSON array of the `count` ring items from ring index `from` of the row at `o`. */
  const samplesJson = (o: number, from: number, count: number): string => {
    let s = '';
    for (let j = 0; j < count; j++) s += `${j > 0 ? ',' : ''}${sampleJson(at(o, from + j))}`;
    return `[${s}]`;
  };
  /** A hygiene reading (`last`, `lastReset`) as JSON. */
  const readingJson = (value: number, eventTime: number): string => `{"value":${jsonNumber(value)},"eventTime":${jsonNumber(eventTime)}}`;
  /**
   * The JSON text of objects of the pure states taken, by object: those are never changed (the pure
   * rule returns new ones), and most outlive many checkpoints (the fast path keeps them).
   */
  const restTexts = new WeakMap<object, string>();
  /** A field of the pure state last taken, with a leading comma (none when JSON omits it). */
  const restJson = (key: string, v: unknown): string => {
    if (v === undefined) return '';
    let text: string | undefined;
    if (typeof v === 'object' && v !== null) {
      text = restTexts.get(v);
      if (text === undefined) restTexts.set(v, (text = JSON.stringify(v)));
    } else text = JSON.stringify(v);
    return text === undefined ? '' : `,"${key}":${text}`;
  };
  /** The service schedules of the row at `o` as JSON ({@link servicesAt}'s text). */
  const servicesJson = (o: number): string => {
    if (serviceKeys === undefined) return JSON.stringify(servicesAt(o));
    const d = data;
    let s = '';
    for (let i = 0; i < services.length; i++) {
      const off = o + HEADER + i * SERVICE_FIELDS;
      if (d[off] !== 1) continue;
      const baseAt = d[off + 2] as number;
      const firedDue = d[off + 3] as number;
      s += `${s === '' ? '' : ','}${serviceKeys[i] as string}{"base":${jsonNumber(d[off + 1] as number)}`;
      if (baseAt === baseAt) s += `,"baseAt":${jsonNumber(baseAt)}`;
      s += firedDue === firedDue ? `,"firedDue":${jsonNumber(firedDue)}}` : '}';
    }
    return `{${s}}`;
  };

  /** `JSON.stringify(materialise(a))`, written from the columns (the fields not in columns, and a state in pure mode, by JSON.stringify). */
  const stateJson = (a: number): string | undefined => {
    if (mode[a] === PURE) return JSON.stringify(rest[a]);
    const o = a * stride;
    const d = data;
    if (d[o + B_EXISTS] === 0) return undefined;
    const r = rest[a] ?? {};
    // Each field with a leading comma, in materialise's order.
    let s = '';
    if (d[o + B_ORDER] === 1) {
      const start = d[o + B_START] as number;
      const lastCount = d[o + B_LAST] as number;
      const released = d[o + B_RELEASED] as number;
      const newest = d[o + B_NEWEST] as number;
      s += ',"order":{';
      if (released === released) s += `"released":${jsonNumber(released)},`;
      if (newest === newest) s += `"newest":${jsonNumber(newest)},`;
      s += `"pending":${samplesJson(o, start + lastCount, d[o + B_PENDING] as number)}`;
      s += lastCount > 0 ? `,"last":${samplesJson(o, start, lastCount)}}` : '}';
    }
    const rk = kinds[a];
    if (rk !== undefined) s += `,"releasedKinds":${jsonString(rk)}`;
    if (d[o + B_HOURS] === 1) {
      const value = d[o + B_HY_VALUE] as number;
      const confirmedAt = d[o + B_HY_CONFIRMED] as number;
      const stall = d[o + B_HY_STALL] as number;
      const resetValue = d[o + B_HY_RESET_VALUE] as number;
      const total = d[o + B_TOTAL] as number;
      let hy = '';
      if (value === value) hy += `,"last":${readingJson(value, d[o + B_HY_TIME] as number)}`;
      if (confirmedAt === confirmedAt) hy += `,"confirmedAt":${jsonNumber(confirmedAt)}`;
      if (stall !== 0) hy += stall === 2 ? ',"stallFlagged":true' : ',"stallFlagged":false';
      if (resetValue === resetValue) hy += `,"lastReset":${readingJson(resetValue, d[o + B_HY_RESET_TIME] as number)}`;
      s += `,"hours":{"hygiene":{${hy.slice(1)}}${total === total ? `,"total":${jsonNumber(total)}` : ''}}`;
    }
    const count = d[o + B_HISTORY] as number;
    if (count >= 0) {
      let h = '';
      for (let j = 0; j < count; j++) h += `${j > 0 ? ',' : ''}[${jsonNumber(d[o + HIST + j * 2] as number)},${jsonNumber(d[o + HIST + j * 2 + 1] as number)}]`;
      s += `,"history":[${h}]`;
    }
    s += restJson('km', r.km) + restJson('kmHistory', r.kmHistory) + restJson('thresholds', r.thresholds);
    if (d[o + B_SERVICES] === 1) s += `,"services":${servicesJson(o)}`;
    s += restJson('workOrders', r.workOrders) + restJson('meterIssue', r.meterIssue) + restJson('odometerIssue', r.odometerIssue);
    s += restJson('calendars', r.calendars) + restJson('alerts', r.alerts) + restJson('lateAlertsFrom', r.lateAlertsFrom) + restJson('lateAlertFaults', r.lateAlertFaults) + restJson('completed', r.completed) + restJson('openForgotten', r.openForgotten);
    s += latestJson(a);
    return `{${s.slice(1)}}`;
  };

  // ---- The pure rule, on the state as the pure form holds it ----

  const settle = (a: number, before: MaintenanceState | undefined, r: RuleResult<MaintenanceState>, out: DeliveryIntent[]): number => {
    const made = r.deliveries;
    for (let k = 0; k < made.length; k++) out.push(made[k] as DeliveryIntent);
    let flags = r.late === true ? LATE : r.duplicate === true ? DUPLICATE : 0;
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

  /** Whether the ring item at (absolute) `off` and the one in `scratch` are the same sample (same JSON). */
  const sameAsScratch = (off: number): boolean => {
    const d = data;
    if (d[off] !== scratch[0] || d[off + 1] !== scratch[1]) return false;
    const kind = scratch[1] as number;
    const n = kind === METER ? 1 : (layouts[kind] as Layout).n;
    for (let j = 2; j < 2 + n; j++) if (d[off + j] !== scratch[j]) return false;
    return true;
  };

  /** A sensor sample that changes nothing but the buffer: no value reaches a threshold of `p` (none is in an episode: the caller's). */
  const quiet = (off: number, p: Profile): boolean => {
    const d = data;
    const l = layouts[d[off + 1] as number] as Layout;
    for (let j = 0; j < l.n; j++) {
      const k = l.sensor[j] as number;
      if (k < 0) continue;
      const v = d[off + 2 + j] as number;
      if (!(v >= (p.quietFrom[k] as number) && v <= (p.quietTo[k] as number))) return false;
    }
    return true;
  };

  // The hour meter as the readings of one release leave it, taken from the row before the first
  // and written back only once every item of the release is decided here (none, when one is for
  // the pure rule: then the row is as it was, with nothing to undo).
  // (In a typed array, not in variables: a double written to a variable the closures share is a
  // new heap number each time, about 2 MB of garbage per 100,000 events.)
  const hy = new Float64Array(5);
  const HY_VALUE = 0;
  const HY_TIME = 1;
  const HY_CONFIRMED = 2;
  const HY_STALL = 3;
  const HY_TOTAL = 4;
  /** The readings taken, `[t, hours]` each, for the history. */
  const taken = new Float64Array(MAX_CAP * 2);
  let takenCount = 0;
  /** The schedules (as in the row, config order), once a reading changed one; `own` until then false. */
  const schedules = new Float64Array(Math.max(1, services.length * SERVICE_FIELDS));
  let own = false;
  /** The work orders remembered (read from the state only when a schedule changes), and the deliveries of those opened, by the readings taken. */
  let workOrders: MaintenanceState['workOrders'];
  let workOrdersRead = false;
  const opened: DeliveryIntent[] = [];
  /** Open work orders forgotten by opening those (the state keeps a bounded number). */
  const forgottenHere: ForgottenTally = { open: 0 };

  /** A schedule in `schedules` (from `k`) as the pure form holds it. */
  const scheduleAt = (k: number): ServiceState => {
    const baseAt = schedules[k + 2] as number;
    const firedDue = schedules[k + 3] as number;
    return { base: schedules[k + 1] as number, ...(baseAt === baseAt ? { baseAt } : {}), ...(firedDue === firedDue ? { firedDue } : {}) };
  };

  /**
   * The hour-meter reading of the ring item at (absolute) `off`, taken as the pure rule takes it, on the meter as the readings
   * before it in this release left it, when hygiene accepts it (the first reading, an advance it
   * can have made, an unchanged meter not yet stalled) with no issue to clear: the schedules it
   * starts or steps and the work orders it opens are kept aside for the commit. False for any other.
   */
  const takeReading = (a: number, o: number, off: number, p: Profile, ctx: RuleContext, p0: number, j: number): boolean => {
    const d = data;
    const t = d[off] as number;
    const raw = d[off + 2] as number;
    if (d[o + B_ISSUE] !== 0) return false;
    const lastValue = hy[HY_VALUE] as number;
    const lastTime = hy[HY_TIME] as number;
    const total = hy[HY_TOTAL] as number;
    let nextValue: number;
    let nextTime: number;
    let nextStall: number;
    let usage: number;
    if (lastValue !== lastValue) {
      // The first reading: hygiene starts from it (no stall flagged), with no usage.
      nextValue = raw;
      nextTime = t;
      nextStall = 1;
      usage = 0;
    } else {
      const confirmed = hy[HY_CONFIRMED] as number;
      if (!(t > (confirmed === confirmed ? confirmed : lastTime))) return false;
      const delta = raw - lastValue;
      if (delta === 0) {
        if (t - lastTime > hygiene.stalledAfterMs) return false;
        nextValue = lastValue;
        nextTime = lastTime;
        nextStall = hy[HY_STALL] as number;
        usage = 0;
      } else {
        if (!(delta > 0) || delta > wallClockAllowance(t - lastTime, hygiene)) return false;
        // Ahead of the wall clock since the meter last showed its value: held by hygiene
        // (`holdCatchUp`) until the next reading tells; the pure rule's.
        if (confirmed === confirmed && delta > wallClockAllowance(t - confirmed, hygiene)) return false;
        nextValue = raw;
        nextTime = t;
        nextStall = 1;
        usage = round6(delta);
      }
    }
    const hours = total === total ? round6(total + usage) : raw;
    const rules = p.hourRules;
    for (let r = 0; r < rules.length; r++) {
      const i = rules[r] as number;
      const k0 = i * SERVICE_FIELDS;
      const sv = own ? schedules : d;
      const off = own ? k0 : o + HEADER + k0;
      const rule = services[i] as ServiceIntervalRule;
      if (sv[off] === 1) {
        const base = sv[off + 1] as number;
        let later = false;
        if (rule.baselineAttribute !== undefined) {
          const attr = attributeBaseline(rule, ctx.asset.attributes);
          later = attr !== undefined && isLaterBaseline(attr, base);
        }
        if (!later) {
          // The schedule in force, short of its next due point or with it opened already: unchanged.
          const k = Math.floor((hours + rule.dueSoon - base) / rule.every + 1e-9);
          if (k < 1) continue;
          const firedDue = sv[off + 3] as number;
          if (firedDue === firedDue && base + k * rule.every <= firedDue + 1e-9) continue;
        }
      }
      // The schedule starts, restarts at the baseline attribute or reaches a due point: stepped as the pure rule steps it.
      if (!own) {
        for (let k = 0; k < schedules.length; k++) schedules[k] = d[o + HEADER + k] as number;
        own = true;
      }
      const attributes = ctx.asset.attributes;
      const current = schedules[k0] === 1 ? withAttributeBaseline(rule, scheduleAt(k0), attributes) : { base: initialBaseline(rule, attributes, hours) };
      if (!workOrdersRead) {
        workOrders = rest[a]?.workOrders;
        workOrdersRead = true;
      }
      const step = stepService(rule, current, hours);
      const covered = step.fire !== undefined && coveringWorkOrder(workOrders, ctx.asset.erpAssetId, rule, step.fire.base, step.fire.due, rest[a]?.completed?.[rule.name]) !== undefined;
      const stepped = covered ? current : step.state;
      schedules[k0] = 1;
      schedules[k0 + 1] = stepped.base;
      schedules[k0 + 2] = stepped.baseAt ?? NaN;
      schedules[k0 + 3] = stepped.firedDue ?? NaN;
      if (step.fire !== undefined && !covered) {
        // The snapshot, as the pure rule's: every sensor's latest value as released up to this reading, the odometer's latest.
        const kmHistory = rest[a]?.kmHistory;
        workOrders = openServiceWorkOrder(rule, step.fire, t, hours, latestBefore(a, o, p0, j), kmHistory?.[kmHistory.length - 1], workOrders, ctx, options, opened, forgottenHere);
      }
    }
    hy[HY_VALUE] = nextValue;
    hy[HY_TIME] = nextTime;
    hy[HY_CONFIRMED] = t;
    hy[HY_STALL] = nextStall;
    hy[HY_TOTAL] = hours;
    taken[takenCount * 2] = t;
    taken[takenCount * 2 + 1] = hours;
    takenCount++;
    return true;
  };
  /**
   * Asset `a`'s `latest` as the pure rule holds it when it takes the `j`-th of the items released
   * now (from ring index `p0` of the row at `o`): the slots, with the sensor samples released before
   * it (noted in the slots only once the whole release is decided here). A fresh object; only when a
   * work order opens.
   */
  const latestBefore = (a: number, o: number, p0: number, j: number): LatestSensors | undefined => {
    let l: LatestSensors | undefined = latestNames[a] !== undefined ? latestOf(a) : undefined;
    for (let i = 0; i < j; i++) {
      const x = at(o, p0 + i);
      if (data[x + 1] === METER) continue;
      const sample = sampleAt(x);
      if (sample.k === 's') l = withLatest(l, sample.t, sample.v);
    }
    return l;
  };
  /** A reading at `t` counted at `hours` added to the history of the row at `o`, as the pure rule's `addHistory`. */
  const addHistory = (o: number, t: number, hours: number): void => {
    const d = data;
    let count = d[o + B_HISTORY] as number;
    if (count < 0) count = 0;
    const h = o + HIST;
    // A reading older than the latest entry adds none (the pure rule's `olderThanLatest`).
    if (count > 0 && t < (d[h + (count - 1) * 2] as number)) return;
    const kept = count >= 2 && t - (d[h + (count - 2) * 2] as number) < history.spacingMs ? count - 1 : count;
    const from = Math.max(0, kept + 1 - history.max);
    if (from > 0) for (let k = 0; k < (kept - from) * 2; k++) d[h + k] = d[h + from * 2 + k] as number;
    d[h + (kept - from) * 2] = t;
    d[h + (kept - from) * 2 + 1] = hours;
    d[o + B_HISTORY] = kept - from + 1;
  };

  /**
   * Decides the first `m` pending items (from ring index `p0` of the row at `o`), released now,
   * here, as the pure rule would: quiet sensor samples (nothing but the buffer changes) and hour-meter
   * readings {@link takeReading} takes (the counter, the history, the schedules, the work orders
   * opened: to `out`). False, with nothing changed, when one of them is for the pure rule. The
   * buffer's own fields are the caller's.
   */
  const releaseHere = (a: number, o: number, p0: number, m: number, p: Profile, ctx: RuleContext, out: DeliveryIntent[]): boolean => {
    const d = data;
    let meters = 0;
    for (let j = 0; j < m; j++) {
      const off = at(o, p0 + j);
      if (d[off + 1] === METER) meters++;
      else if (d[o + B_SETTLED] !== 1 || !quiet(off, p)) return false;
    }
    if (meters > 0) {
      hy[HY_VALUE] = d[o + B_HY_VALUE] as number;
      hy[HY_TIME] = d[o + B_HY_TIME] as number;
      hy[HY_CONFIRMED] = d[o + B_HY_CONFIRMED] as number;
      hy[HY_STALL] = d[o + B_HY_STALL] as number;
      hy[HY_TOTAL] = d[o + B_TOTAL] as number;
      takenCount = 0;
      own = false;
      workOrdersRead = false;
      if (opened.length > 0) opened.length = 0;
      forgottenHere.open = 0;
      for (let j = 0, done = 0; j < m && done < meters; j++) {
        const off = at(o, p0 + j);
        if (d[off + 1] !== METER) continue;
        if (!takeReading(a, o, off, p, ctx, p0, j)) {
          opened.length = 0;
          workOrders = undefined;
          return false;
        }
        done++;
      }
      d[o + B_HOURS] = 1;
      d[o + B_HY_VALUE] = hy[HY_VALUE];
      d[o + B_HY_TIME] = hy[HY_TIME];
      d[o + B_HY_CONFIRMED] = hy[HY_CONFIRMED];
      d[o + B_HY_STALL] = hy[HY_STALL];
      d[o + B_TOTAL] = hy[HY_TOTAL];
      for (let k = 0; k < takenCount; k++) addHistory(o, taken[k * 2] as number, taken[k * 2 + 1] as number);
      if (own) {
        for (let k = 0; k < schedules.length; k++) d[o + HEADER + k] = schedules[k] as number;
        d[o + B_SERVICES] = 1;
      }
      if (opened.length > 0) {
        for (let k = 0; k < opened.length; k++) out.push(opened[k] as DeliveryIntent);
        opened.length = 0;
        // The work orders are not in columns: the pure state they are taken from holds the new ones.
        const before = rest[a];
        rest[a] = forgottenHere.open > 0 ? { ...before, workOrders, openForgotten: (before?.openForgotten ?? 0) + forgottenHere.open } : { ...before, workOrders };
        forgottenHere.open = 0;
      }
      workOrders = undefined;
    }
    // Every sensor sample released: its values into the snapshot's `latest`, oldest first.
    for (let j = 0; j < m; j++) {
      const x = at(o, p0 + j);
      if (d[x + 1] !== METER) noteLatest(a, x);
    }
    // The kinds released at the last one's time (one kind, as a rule).
    const off = at(o, p0 + m - 1);
    const t = d[off] as number;
    const meter = d[off + 1] === METER;
    let both = false;
    for (let j = m - 2; j >= 0 && !both; j--) {
      const x = at(o, p0 + j);
      if (d[x] !== t) break;
      both = (d[x + 1] === METER) !== meter;
    }
    kinds[a] = meter ? (both ? 'ms' : 'm') : both ? 'sm' : 's';
    return true;
  };
  /** The buffer of the row at `o` after its first `m` pending items (from ring index `p0`) were released: those of the newest time are `last`. */
  const released = (o: number, p0: number, m: number): void => {
    const d = data;
    const t = d[at(o, p0 + m - 1)] as number;
    let newest = 1;
    while (newest < m && d[at(o, p0 + m - 1 - newest)] === t) newest++;
    const start = p0 + m - newest;
    d[o + B_START] = start >= cap ? start - cap : start;
    d[o + B_LAST] = newest;
    d[o + B_PENDING] = (d[o + B_PENDING] as number) - m;
    d[o + B_RELEASED] = t;
  };

  /** The sample in `scratch` offered to asset `a`'s buffer (the pure form's `admit` with `keepLast`, and what it releases). */
  const admitScratch = (a: number, event: CanonicalEvent, ctx: RuleContext, p: Profile, out: DeliveryIntent[]): number => {
    let o = a * stride;
    const t = scratch[0] as number;
    const lastCount = data[o + B_LAST] as number;
    if (t <= (data[o + B_RELEASED] as number)) {
      // One of the samples released last, sent again: a duplicate; anything else here is late (or taken late).
      for (let j = 0; j < lastCount; j++) if (sameAsScratch(at(o, (data[o + B_START] as number) + j))) return DUPLICATE;
      return pureApply(a, event, ctx, out);
    }
    const pendingCount = data[o + B_PENDING] as number;
    // Room for one more item (whatever is released, the ring then holds at most this many).
    if (lastCount + pendingCount + 1 > cap) {
      if (!room(lastCount + pendingCount + 1)) return pureApply(a, event, ctx, out);
      o = a * stride;
    }
    const d = data;
    const p0 = (d[o + B_START] as number) + lastCount;
    let i = pendingCount;
    while (i > 0) {
      const off = at(o, p0 + i - 1);
      const pt = d[off] as number;
      if (pt < t) break;
      if (pt === t) {
        const pk = d[off + 1] as number;
        if ((pk === METER) === (scratch[1] === METER)) {
          // Of one time and kind: the same sample (a duplicate), or ordered by JSON.
          if (sameAsScratch(off)) return DUPLICATE;
          return pureApply(a, event, ctx, out);
        }
        // A meter reading before a sensor sample of its time.
        if (pk === METER) break;
      }
      i--;
    }
    const newest = d[o + B_NEWEST] as number;
    const nextNewest = newest !== newest || t > newest ? t : newest;
    const watermark = nextNewest - lateness;
    insert(o, p0, pendingCount, i);
    // Released: the items (the new one among them) at or before the watermark, oldest first.
    let m = 0;
    while (m <= pendingCount && (d[at(o, p0 + m)] as number) <= watermark) m++;
    if (m > 0 && !releaseHere(a, o, p0, m, p, ctx, out)) {
      remove(o, p0, pendingCount + 1, i);
      return pureApply(a, event, ctx, out);
    }
    d[o + B_PENDING] = pendingCount + 1;
    if (m > 0) released(o, p0, m);
    d[o + B_NEWEST] = nextNewest;
    d[o + B_ORDER] = 1;
    d[o + B_EXISTS] = 1;
    return CHANGED;
  };
  /** The sample in `scratch` put at index `i` of the `count` pending items from ring index `p0` of the row at `o` (room checked). */
  const insert = (o: number, p0: number, count: number, i: number): void => {
    const d = data;
    for (let j = count; j > i; j--) {
      const to = at(o, p0 + j);
      const from = at(o, p0 + j - 1);
      for (let k = 0; k < S; k++) d[to + k] = d[from + k] as number;
    }
    const to = at(o, p0 + i);
    for (let k = 0; k < S; k++) d[to + k] = scratch[k] as number;
  };
  /** Takes out item `i` of the `count` pending items from ring index `p0` of the row at `o` (the one {@link insert} put there). */
  const remove = (o: number, p0: number, count: number, i: number): void => {
    const d = data;
    for (let j = i; j < count - 1; j++) {
      const to = at(o, p0 + j);
      const from = at(o, p0 + j + 1);
      for (let k = 0; k < S; k++) d[to + k] = d[from + k] as number;
    }
  };

  return {
    name: pure.name,
    get bufferBytes() {
      return data.byteLength;
    },
    kinds: pure.kinds,
    load(a, stored) {
      adopt(a, stored as MaintenanceState | undefined);
    },
    save(a) {
      if (a >= used) return undefined;
      return materialise(a);
    },
    saveJson(a) {
      if (a >= used) return undefined;
      return stateJson(a);
    },
    drop(a) {
      clear(rowOf(a));
      mode[a] = FAST;
      rest[a] = undefined;
      kinds[a] = undefined;
      latestNames[a] = undefined;
    },
    apply(a, event, ctx, out) {
      if (a >= used) rowOf(a);
      if (mode[a] === PURE) return pureApply(a, event, ctx, out);
      const t = event.eventTime;
      if (event.kind === 'sensor') {
        const p = profile(ctx.asset);
        // No threshold nor alert rule for this asset: the pure rule takes no sensor sample (every
        // other sensor sample enters the buffer: its values feed the work orders' snapshots).
        if (!p.keepsLatest) return 0;
        if (!Number.isFinite(t) || !sensorItem(event.values)) return pureApply(a, event, ctx, out);
        // No values: no sample (the state as it is).
        if ((layouts[scratch[1] as number] as Layout).n === 0) return 0;
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
      const o = rowOf(a);
      if (mode[a] === PURE) return pureFlush(a, ctx, upTo, out);
      const d = data;
      const pendingCount = d[o + B_PENDING] as number;
      // Nothing held: the pure rule returns the state as it is.
      if (d[o + B_ORDER] !== 1 || pendingCount === 0) return 0;
      const p0 = (d[o + B_START] as number) + (d[o + B_LAST] as number);
      let m = pendingCount;
      let newest = d[o + B_NEWEST] as number;
      if (upTo !== undefined) {
        // An idle watermark: what is final by then (nothing: the state as it is).
        newest = Math.max(newest === newest ? newest : upTo, upTo);
        m = 0;
        while (m < pendingCount && (d[at(o, p0 + m)] as number) <= newest - lateness) m++;
        if (m === 0) return 0;
      }
      if (!releaseHere(a, o, p0, m, profile(ctx.asset), ctx, out)) return pureFlush(a, ctx, upTo, out);
      released(o, p0, m);
      d[o + B_NEWEST] = newest;
      return CHANGED;
    },
    holds(a) {
      if (a >= used) return false;
      if (mode[a] === PURE) return pure.holds(rest[a]);
      const o = a * stride;
      return data[o + B_ORDER] === 1 && (data[o + B_PENDING] as number) > 0;
    },
  };
}
