/**
 * A measurement, not the product: what the rules benchmark's rule work costs with a compact state
 * design, to tell whether the 0.8 target is in reach of a rewrite of the rules.
 *
 * The same configuration (1,000 zones with dwell and hysteresis, location sync, 16 thresholds, two
 * service intervals, usage per period) is folded over the same pre-decoded events as the real
 * rules alone, with the state of all assets in typed arrays (one column per field, indexed by
 * asset), one event-time reorder buffer per asset and event kind shared by every rule (a ring in a
 * typed array), thresholds compiled to a quiet range per sensor, zones in a grid of integer cells.
 * It makes comparable deliveries (the benchmark prints both counts) and does at least the real
 * rules' work on this stream, but it is not their semantics: no meter hygiene beyond resets and
 * spikes, no late-reset accounting, no maintenance windows, no work-order completions, no
 * persistence of its own. Its deliveries carry a short payload.
 * @module
 */
import type { RulesConfig } from '../src/config/rules-schema.js';
import type { SimulationStep } from '../src/core/rules/simulate.js';
import type { RawMessage } from '../src/core/model/messages.js';

const LATENESS_MS = 30_000;
/** Ring capacity per asset and kind: the events of one lateness window (10 s apart in the benchmark), with room. */
const RING = 8;
const M_PER_DEG = 111_320;
const RAD = Math.PI / 180;
const CELL_DEG = 0.01;
const SENSORS = ['coolantTemp', 'oilPressure', 'hydraulicTemp', 'vibration'] as const;
const KINDS = 3; // position, sensor, meter
const VALUES = 4; // per buffered event: lat/lng, the four sensors, or hours

interface Delivery {
  readonly operation: string;
  readonly businessKey: string;
  readonly eventTime: number;
  readonly payload: Record<string, unknown>;
}

/** The benchmark's rules over pre-decoded steps with columnar state; `run` returns µs per event and deliveries by operation. */
export class CompactRules {
  // Zones: circles (radius > 0) and polygons (rings), and the grid.
  private readonly zLat: Float64Array;
  private readonly zLng: Float64Array;
  private readonly zRadius: Float64Array;
  private readonly zRing: (Float64Array | undefined)[];
  private readonly zBox: Float64Array;
  private readonly zCode: string[];
  private readonly lat0: number;
  private readonly lng0: number;
  private readonly width: number;
  private readonly height: number;
  private readonly cellStart: Int32Array;
  private readonly cellZones: Int32Array;
  private readonly hysteresisM: number;
  private readonly enterMs: number;
  private readonly exitMs: number;
  private readonly minDistanceM: number;
  private readonly heartbeatMs: number;
  // Thresholds, compiled.
  private readonly tCount: number;
  private readonly tAbove: Uint8Array;
  private readonly tThreshold: Float64Array;
  private readonly tClear: Float64Array;
  private readonly tDuration: Float64Array;
  private readonly tGap: Float64Array;
  private readonly tCooldown: Float64Array;
  private readonly tName: string[];
  private readonly tHigh: boolean[];
  private readonly bySensor: Int32Array[];
  private readonly quietLo: Float64Array;
  private readonly quietHi: Float64Array;
  // Service intervals and periods.
  private readonly every: Float64Array;
  private readonly dueSoon: Float64Array;
  private readonly intervalName: string[];
  private readonly periodStart: number[];

  constructor(config: RulesConfig) {
    const zones = config.zones?.zones ?? [];
    const n = zones.length;
    this.zLat = new Float64Array(n);
    this.zLng = new Float64Array(n);
    this.zRadius = new Float64Array(n);
    this.zBox = new Float64Array(n * 4);
    this.zRing = [];
    this.zCode = zones.map((z) => z.locationCode);
    this.hysteresisM = config.zones?.hysteresisM ?? 0;
    this.enterMs = config.zones?.enterDwellMs ?? 0;
    this.exitMs = config.zones?.exitDwellMs ?? 0;
    this.minDistanceM = config.location.minDistanceM ?? 0;
    this.heartbeatMs = config.location.heartbeatMs ?? Infinity;
    let minLat = Infinity;
    let minLng = Infinity;
    let maxLat = -Infinity;
    let maxLng = -Infinity;
    zones.forEach((z, i) => {
      const shape = z.shape;
      let box: [number, number, number, number];
      if (shape.type === 'circle') {
        this.zLat[i] = shape.lat;
        this.zLng[i] = shape.lng;
        this.zRadius[i] = shape.radiusM;
        this.zRing.push(undefined);
        const dLat = (shape.radiusM + this.hysteresisM) / M_PER_DEG;
        const dLng = dLat / Math.cos(shape.lat * RAD);
        box = [shape.lat - dLat, shape.lng - dLng, shape.lat + dLat, shape.lng + dLng];
      } else {
        const ring = shape.polygons[0]?.[0] ?? [];
        this.zRing.push(Float64Array.from(ring.flat()));
        let a = Infinity;
        let b = Infinity;
        let c = -Infinity;
        let d = -Infinity;
        for (const [lng, lat] of ring) {
          a = Math.min(a, lat);
          b = Math.min(b, lng);
          c = Math.max(c, lat);
          d = Math.max(d, lng);
        }
        const m = this.hysteresisM / M_PER_DEG;
        box = [a - m, b - m / Math.cos(a * RAD), c + m, d + m / Math.cos(a * RAD)];
        this.zLat[i] = (a + c) / 2;
        this.zLng[i] = (b + d) / 2;
      }
      this.zBox.set(box, i * 4);
      minLat = Math.min(minLat, box[0]);
      minLng = Math.min(minLng, box[1]);
      maxLat = Math.max(maxLat, box[2]);
      maxLng = Math.max(maxLng, box[3]);
    });
    this.lat0 = n ? minLat : 0;
    this.lng0 = n ? minLng : 0;
    this.width = n ? Math.floor((maxLng - minLng) / CELL_DEG) + 1 : 0;
    this.height = n ? Math.floor((maxLat - minLat) / CELL_DEG) + 1 : 0;
    const lists: number[][] = Array.from({ length: this.width * this.height }, () => []);
    for (let i = 0; i < n; i++) {
      const y0 = Math.floor(((this.zBox[i * 4] as number) - this.lat0) / CELL_DEG);
      const x0 = Math.floor(((this.zBox[i * 4 + 1] as number) - this.lng0) / CELL_DEG);
      const y1 = Math.floor(((this.zBox[i * 4 + 2] as number) - this.lat0) / CELL_DEG);
      const x1 = Math.floor(((this.zBox[i * 4 + 3] as number) - this.lng0) / CELL_DEG);
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) lists[y * this.width + x]?.push(i);
    }
    this.cellStart = new Int32Array(lists.length + 1);
    this.cellZones = new Int32Array(lists.reduce((s, l) => s + l.length, 0));
    let at = 0;
    lists.forEach((l, c) => {
      this.cellStart[c] = at;
      for (const z of l) this.cellZones[at++] = z;
    });
    this.cellStart[lists.length] = at;

    const th = config.maintenance?.thresholds ?? [];
    this.tCount = th.length;
    this.tAbove = Uint8Array.from(th, (r) => (r.direction === 'above' ? 1 : 0));
    this.tThreshold = Float64Array.from(th, (r) => r.threshold);
    this.tClear = Float64Array.from(th, (r) => r.clearAt);
    this.tDuration = Float64Array.from(th, (r) => r.durationMs);
    this.tGap = Float64Array.from(th, (r) => r.maxGapMs);
    this.tCooldown = Float64Array.from(th, (r) => r.cooldownMs);
    this.tName = th.map((r) => r.name);
    this.tHigh = th.map((r) => r.severity === 'critical');
    this.bySensor = SENSORS.map((s) => Int32Array.from(th.flatMap((r, i) => (r.sensor === s ? [i] : []))));
    // A value strictly between every low threshold and every high one breaches nothing.
    this.quietLo = Float64Array.from(SENSORS, (s) => Math.max(-Infinity, ...th.filter((r) => r.sensor === s && r.direction === 'below').map((r) => r.threshold)));
    this.quietHi = Float64Array.from(SENSORS, (s) => Math.min(Infinity, ...th.filter((r) => r.sensor === s && r.direction === 'above').map((r) => r.threshold)));
    const intervals = config.maintenance?.serviceIntervals ?? [];
    this.every = Float64Array.from(intervals, (r) => r.every);
    this.dueSoon = Float64Array.from(intervals, (r) => r.dueSoon);
    this.intervalName = intervals.map((r) => r.name);
    // Monthly periods in Europe/Berlin as UTC instants (CET/CEST by month: close enough for a measurement).
    this.periodStart = [];
    for (let y = 2024; y <= 2030; y++) for (let m = 0; m < 12; m++) this.periodStart.push(Date.UTC(y, m, 1) - (m >= 3 && m <= 9 ? 7_200_000 : 3_600_000));
  }

  /** The smallest zone (by radius, polygons last) containing the position; the current zone counts up to the hysteresis margin beyond its edge. */
  private locate(lat: number, lng: number, current: number): number {
    const x = Math.floor((lng - this.lng0) / CELL_DEG);
    const y = Math.floor((lat - this.lat0) / CELL_DEG);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return -1;
    const c = y * this.width + x;
    let best = -1;
    for (let k = this.cellStart[c] as number; k < (this.cellStart[c + 1] as number); k++) {
      const z = this.cellZones[k] as number;
      if (this.inside(z, lat, lng, z === current ? this.hysteresisM : 0) && (best === -1 || (this.zRadius[z] as number) < (this.zRadius[best] as number))) best = z;
    }
    return best;
  }

  private inside(z: number, lat: number, lng: number, marginM: number): boolean {
    const ring = this.zRing[z];
    if (ring === undefined) {
      const dy = (lat - (this.zLat[z] as number)) * M_PER_DEG;
      const dx = (lng - (this.zLng[z] as number)) * M_PER_DEG * Math.cos(lat * RAD);
      const r = (this.zRadius[z] as number) + marginM;
      return dx * dx + dy * dy <= r * r;
    }
    let c = false;
    const n = ring.length / 2;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const xi = ring[2 * i] as number;
      const yi = ring[2 * i + 1] as number;
      const xj = ring[2 * j] as number;
      const yj = ring[2 * j + 1] as number;
      if (yi > lat !== yj > lat && lng < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) c = !c;
    }
    if (c || marginM === 0) return c;
    const b = z * 4; // within the margin: the grown box (the polygons here are rectangles)
    return lat >= (this.zBox[b] as number) && lng >= (this.zBox[b + 1] as number) && lat <= (this.zBox[b + 2] as number) && lng <= (this.zBox[b + 3] as number);
  }

  /**
   * Folds `steps` (step n's asset is number `assetOf[n]`, of `assets`); with `log`, each message's
   * payload is also framed into `log.buffer` (reused between runs, as the ingest log's buffers are).
   */
  run(steps: readonly SimulationStep[], assetOf: Int32Array, assets: number, log?: { buffer: Buffer; messages: readonly RawMessage[] }): { usPerEvent: number; deliveries: Map<string, number> } {
    const T = this.tCount;
    const I = this.every.length;
    const q = assets * KINDS;
    const bTime = new Float64Array(q * RING);
    const bValue = new Float64Array(q * RING * VALUES);
    const bHead = new Int32Array(q);
    const bLen = new Int32Array(q);
    const newest = new Float64Array(q).fill(-Infinity);
    const released = new Float64Array(q).fill(-Infinity);
    const zone = new Int32Array(assets).fill(-1);
    const candidate = new Int32Array(assets).fill(-2);
    const candidateSince = new Float64Array(assets);
    const sentLat = new Float64Array(assets).fill(NaN);
    const sentLng = new Float64Array(assets);
    const sentAt = new Float64Array(assets).fill(-Infinity);
    const lastValue = new Float64Array(assets * SENSORS.length);
    const open = new Int32Array(assets);
    const breachSince = new Float64Array(assets * T).fill(NaN);
    const active = new Uint8Array(assets * T);
    const fired = new Float64Array(assets * T).fill(-Infinity);
    const sampled = new Float64Array(assets * T).fill(-Infinity);
    const hours = new Float64Array(assets).fill(NaN);
    const hoursAt = new Float64Array(assets);
    const nextDue = new Float64Array(assets * I);
    const period = new Int32Array(assets).fill(-1);
    const periodUnits = new Float64Array(assets);
    const out: Delivery[] = [];
    const ids = Array.from({ length: assets }, (_, a) => `EQ-${a}`);
    let logAt = 0;

    const position = (a: number, t: number, lat: number, lng: number): void => {
      const z = this.locate(lat, lng, zone[a] as number);
      let moved = false;
      if (z !== zone[a]) {
        if (z !== candidate[a]) {
          candidate[a] = z;
          candidateSince[a] = t;
        } else if (t - (candidateSince[a] as number) >= (z === -1 ? this.exitMs : this.enterMs)) {
          zone[a] = z;
          candidate[a] = -2;
          moved = true;
        }
      } else candidate[a] = -2;
      const dy = (lat - (sentLat[a] as number)) * M_PER_DEG;
      const dx = (lng - (sentLng[a] as number)) * M_PER_DEG * Math.cos(lat * RAD);
      if (Number.isNaN(sentLat[a]) || dx * dx + dy * dy >= this.minDistanceM * this.minDistanceM || moved || t - (sentAt[a] as number) >= this.heartbeatMs) {
        sentLat[a] = lat;
        sentLng[a] = lng;
        sentAt[a] = t;
        const zi = zone[a] as number;
        out.push({ operation: 'location.update', businessKey: ids[a] as string, eventTime: t, payload: { lat, lng, eventTime: t, ...(zi >= 0 ? { locationCode: this.zCode[zi] } : {}) } });
      }
    };

    const sensor = (a: number, t: number, at: number): void => {
      for (let s = 0; s < SENSORS.length; s++) {
        const v = bValue[at + s] as number;
        if (Number.isNaN(v)) continue;
        lastValue[a * SENSORS.length + s] = v;
        if (((open[a] as number) & (1 << s)) === 0 && v > (this.quietLo[s] as number) && v < (this.quietHi[s] as number)) continue;
        let episode = false;
        const list = this.bySensor[s] as Int32Array;
        for (let k = 0; k < list.length; k++) {
          const i = list[k] as number;
          const j = a * T + i;
          const above = this.tAbove[i] === 1;
          const breach = above ? v > (this.tThreshold[i] as number) : v < (this.tThreshold[i] as number);
          const clear = above ? v < (this.tClear[i] as number) : v > (this.tClear[i] as number);
          if (t - (sampled[j] as number) > (this.tGap[i] as number)) breachSince[j] = NaN;
          sampled[j] = t;
          if (breach) {
            if (Number.isNaN(breachSince[j])) breachSince[j] = t;
            if (active[j] === 0 && t - (breachSince[j] as number) >= (this.tDuration[i] as number) && t - (fired[j] as number) >= (this.tCooldown[i] as number)) {
              active[j] = 1;
              fired[j] = t;
              const snapshot: Record<string, number> = {};
              for (let x = 0; x < SENSORS.length; x++) snapshot[SENSORS[x] as string] = lastValue[a * SENSORS.length + x] as number;
              out.push({ operation: 'workorder.create', businessKey: `${ids[a] as string}|${this.tName[i] as string}|${t}`, eventTime: t, payload: { priority: this.tHigh[i] ? 'HIGH' : 'MEDIUM', reason: `${SENSORS[s] as string} ${above ? 'above' : 'below'} ${this.tThreshold[i] as number}`, snapshot } });
            }
            episode = true;
          } else if (clear) {
            breachSince[j] = NaN;
            active[j] = 0;
          } else if (active[j] === 1 || !Number.isNaN(breachSince[j])) episode = true;
        }
        open[a] = episode ? (open[a] as number) | (1 << s) : (open[a] as number) & ~(1 << s);
      }
    };

    const meter = (a: number, t: number, h: number): void => {
      let delta = 0;
      if (Number.isNaN(hours[a])) {
        for (let i = 0; i < I; i++) nextDue[a * I + i] = Math.max(this.every[i] as number, Math.floor(h / (this.every[i] as number)) * (this.every[i] as number));
      } else {
        delta = h - (hours[a] as number);
        if (delta < 0) delta = h; // a reset: the new meter counts from 0
        else if (delta > ((t - (hoursAt[a] as number)) / 3_600_000) * 1.05 + 0.01) delta = 0; // a spike is not counted
      }
      hours[a] = h;
      hoursAt[a] = t;
      for (let i = 0; i < I; i++) {
        const k = a * I + i;
        const due = nextDue[k] as number;
        if (h >= due - (this.dueSoon[i] as number)) {
          out.push({ operation: 'workorder.create', businessKey: `${ids[a] as string}|${this.intervalName[i] as string}|${due}h`, eventTime: t, payload: { reason: `due at ${due} h, meter at ${h} h`, hours: h } });
          nextDue[k] = due + (this.every[i] as number);
        }
      }
      let p = period[a] as number;
      if (p < 0 || t < (this.periodStart[p] as number) || t >= (this.periodStart[p + 1] as number)) {
        p = 0;
        while ((this.periodStart[p + 1] as number) <= t) p++;
        if ((period[a] as number) >= 0) {
          out.push({ operation: 'usage.post', businessKey: `${ids[a] as string}|${period[a] as number}`, eventTime: t, payload: { units: periodUnits[a] } });
          periodUnits[a] = 0;
        }
        period[a] = p;
      }
      periodUnits[a] = (periodUnits[a] as number) + delta;
    };

    const started = performance.now();
    for (let n = 0; n < steps.length; n++) {
      const step = steps[n] as SimulationStep;
      const event = step.event;
      const kind = event.kind === 'position' ? 0 : event.kind === 'sensor' ? 1 : event.kind === 'meter' ? 2 : -1;
      if (kind < 0) continue;
      const a = assetOf[n] as number;
      const b = a * KINDS + kind;
      const t = event.eventTime;
      if (t <= (released[b] as number)) continue; // late
      if (log) logAt += log.buffer.write((log.messages[n] as RawMessage).payload as string, logAt + 4, 'utf8') + 4;
      // Insert in event-time order into the asset's ring for this kind.
      const len = bLen[b] as number;
      const head = bHead[b] as number;
      if (len === RING) throw new Error('reorder ring full: raise RING');
      let pos = len;
      while (pos > 0 && (bTime[b * RING + ((head + pos - 1) % RING)] as number) > t) pos--;
      for (let i = len; i > pos; i--) {
        const from = b * RING + ((head + i - 1) % RING);
        const to = b * RING + ((head + i) % RING);
        bTime[to] = bTime[from] as number;
        bValue.copyWithin(to * VALUES, from * VALUES, from * VALUES + VALUES);
      }
      const slot = b * RING + ((head + pos) % RING);
      bTime[slot] = t;
      const at = slot * VALUES;
      if (event.kind === 'position') {
        bValue[at] = event.lat ?? NaN;
        bValue[at + 1] = event.lng ?? NaN;
      } else if (event.kind === 'sensor') {
        for (let s = 0; s < SENSORS.length; s++) bValue[at + s] = event.values[SENSORS[s] as string]?.value ?? NaN;
      } else if (event.kind === 'meter') bValue[at] = event.operatingHours ?? NaN;
      bLen[b] = len + 1;
      if (t > (newest[b] as number)) newest[b] = t;
      const watermark = (newest[b] as number) - LATENESS_MS;
      // Release what is final, oldest first.
      while ((bLen[b]) > 0) {
        const h0 = bHead[b] as number;
        const r = b * RING + h0;
        const rt = bTime[r] as number;
        if (rt > watermark) break;
        if (kind === 0) position(a, rt, bValue[r * VALUES] as number, bValue[r * VALUES + 1] as number);
        else if (kind === 1) sensor(a, rt, r * VALUES);
        else meter(a, rt, bValue[r * VALUES] as number);
        released[b] = rt;
        bHead[b] = (h0 + 1) % RING;
        bLen[b] = (bLen[b]) - 1;
      }
    }
    const usPerEvent = ((performance.now() - started) * 1000) / steps.length;
    const deliveries = new Map<string, number>();
    for (const d of out) deliveries.set(d.operation, (deliveries.get(d.operation) ?? 0) + 1);
    return { usPerEvent, deliveries };
  }
}
