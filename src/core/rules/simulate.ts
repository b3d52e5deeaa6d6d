/**
 * Run rules over events without a store or an outbox: what `rules test` shows, and what the rule
 * property tests drive. It folds events exactly as the ingest engine does — for each event, every
 * rule whose `kinds` include the event's kind, with that asset's sub-state — and can put state
 * through JSON between batches, as the store does. Given when each event was received (the event
 * capture keeps it), it also sends the idle watermarks the service sent in the silences between
 * them ({@link IdleWatermarks}).
 * @module
 */
import type { AssetRecord } from '../model/assets.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { CanonicalEvent } from '../model/events.js';
import { isFlushable } from './event-time.js';
import { ruleFailureReason, type Rule } from './rule.js';

/** Per-asset state document: one sub-state per rule name. */
export type StateDoc = Record<string, unknown>;

export interface SimulationStep {
  readonly event: CanonicalEvent;
  readonly asset: AssetRecord;
  readonly destination: string;
  /** When the service received the event (wall clock, as the capture keeps it): where its idle watermarks fell. */
  readonly receivedAt?: number;
  /**
   * Its message was sent again by its source (an MQTT redelivery; the capture's `"redelivered": true`):
   * the rules run with `RuleContext.redelivered`, and, as the service counts, the step is not counted
   * late ({@link SimulationResult.lateByStep}) nor among meter readings held or set aside.
   */
  readonly redelivered?: boolean;
}

/** An idle watermark {@link simulateRules} sent before a step: what it decided for a silent asset. */
export interface SimulatedWatermark {
  readonly erpAssetId: string;
  /** When the asset was last heard from (the received time of its last event). */
  readonly silentSince: number;
  /** The watermark's time (wall clock): `idleMs` after that, or after the watermark before it. */
  readonly at: number;
  readonly deliveries: readonly DeliveryIntent[];
  /**
   * A rule threw on the watermark (with {@link SimulationOptions.messages}): why, as the service
   * quarantines the watermark. The asset's state stays as before it (its held events undecided),
   * and it is not named again until it reports: the service names it every `idleMs` while it is
   * silent, each watermark failing alike.
   */
  readonly failed?: string;
}

interface Tracked {
  readonly id: string;
  readonly asset: AssetRecord;
  readonly destination: string;
  readonly since: number;
  /** When the asset is named idle (next). */
  readonly due: number;
}

/**
 * The service's idle watermarks (engine/tasks/idle-watermark.ts, `Ingestor.idleHolding`) over a
 * replayed stream, on the received times of its events as the clock: an asset heard from at `t`
 * whose rules still hold events at `t + idleMs` gets a watermark then; one still holding after it
 * is named again `idleMs` later; one holding nothing is let go until it reports again. The service
 * checks every so often, so its watermark comes up to that check interval later than here (a
 * dwell is dated by itself, not by the watermark). One instance for a whole input (across calls).
 */
export class IdleWatermarks {
  /** The service's clock: the latest received time so far. */
  private clock = Number.NEGATIVE_INFINITY;
  /** Assets by the received time of their last event, oldest first (so also by when they are due). */
  private readonly seen = new Map<string, Tracked>();
  /** Assets named idle and still holding, by when they are named again, soonest first. */
  private readonly named = new Map<string, Tracked>();

  constructor(readonly idleMs: number) {}

  /** The clock reaches `receivedAt` (it never goes back). */
  tick(receivedAt: number): void {
    if (receivedAt > this.clock) this.clock = receivedAt;
  }

  /** An event of this asset, received now. */
  heard(asset: AssetRecord, destination: string): void {
    const id = asset.erpAssetId;
    this.named.delete(id);
    this.seen.delete(id);
    this.seen.set(id, { id, asset, destination, since: this.clock, due: this.clock + this.idleMs });
  }

  /** The asset due soonest, if it is due by now (taken out: give it back with {@link again}). */
  next(): Tracked | undefined {
    const a = first(this.seen);
    const b = first(this.named);
    const t = a === undefined ? b : b === undefined || a.due <= b.due ? a : b;
    if (t === undefined || t.due > this.clock) return undefined;
    (t === a ? this.seen : this.named).delete(t.id);
    return t;
  }

  /** Still holding after its watermark: named again `idleMs` later. */
  again(t: Tracked): void {
    this.named.set(t.id, { ...t, due: t.due + this.idleMs });
  }
}

const first = <V>(m: Map<string, V>): V | undefined => {
  for (const v of m.values()) return v;
  return undefined;
};

/** Whether a rule of `rules` holds events (or a dwell) in this state document of `asset`: what a watermark can decide. */
const holding = (rules: readonly Rule[], doc: StateDoc, asset: AssetRecord): boolean => rules.some((r) => isFlushable(r) && r.holds(doc[r.name], asset));

export interface SimulationOptions {
  /** State documents to start from (by ERP asset id); absent assets start empty. */
  readonly initial?: ReadonlyMap<string, StateDoc>;
  /** Processing time handed to rules. @default the event's receive time */
  readonly now?: number;
  /** Split the input into batches of these sizes, putting state through JSON between them. */
  readonly batchSizes?: readonly number[];
  /**
   * Called after each step with the asset's state document before and after it (`rules test
   * --trace`), and after each idle watermark sent before step `index` (with its time).
   */
  readonly onStep?: (index: number, erpAssetId: string, before: StateDoc, after: StateDoc, watermarkAt?: number) => void;
  /** Send idle watermarks in the silences between the steps' received times (steps without one move no clock). */
  readonly idle?: IdleWatermarks;
  /**
   * The steps by message, as counts of consecutive steps (summing to the steps): a rule that throws
   * on an event then sets its whole message aside, as the service quarantines it, with the state of
   * every asset as before the message (the idle watermarks sent before it stand), and the steps
   * after it run; {@link SimulationResult.failed} says why. Absent: the error is thrown.
   */
  readonly messages?: readonly number[];
  /**
   * What a step's rules did that its deliveries do not show, in words (`rules test`: why a meter
   * reading delivered nothing, as meter hygiene set it aside): called after each step that ran, with
   * the step and its asset's state document before and after it; what it returns is the step's
   * {@link SimulationResult.notesByStep}.
   */
  readonly explain?: (step: SimulationStep, before: StateDoc, after: StateDoc) => readonly string[] | undefined;
}

export interface SimulationResult {
  /** Deliveries produced by each input step, in input order. */
  readonly perStep: readonly (readonly DeliveryIntent[])[];
  /** Per input step, the rules that dropped its event as late (older than their allowed lateness). */
  readonly lateByStep: readonly (readonly string[])[];
  /** Per input step, the rules that dropped its event as a duplicate (the same event sent again: the rules' `duplicate`). */
  readonly duplicateByStep: readonly (readonly string[])[];
  /**
   * Per input step, the meter readings its rules held or set aside: the owned.ts `METER_*` bits of
   * their `meterReadings` (0: none; and for a redelivered step, as the service does not count those).
   */
  readonly meterReadingsByStep: readonly number[];
  /** Per input step, the idle watermarks sent before it that delivered something (with {@link SimulationOptions.idle}). */
  readonly watermarksByStep: readonly (readonly SimulatedWatermark[])[];
  /** With {@link SimulationOptions.messages}: the messages set aside because a rule threw, by index, with the service's reason (their steps deliver nothing). */
  readonly failed: ReadonlyMap<number, string>;
  /** Per input step, what {@link SimulationOptions.explain} said of it (none without it, and for a step of a message set aside). */
  readonly notesByStep: readonly (readonly string[])[];
  readonly states: Map<string, StateDoc>;
}

/** No notes (shared, frozen): a step without any allocates nothing. */
const NO_NOTES: readonly string[] = Object.freeze([]);

export function simulateRules(rules: readonly Rule[], steps: readonly SimulationStep[], options: SimulationOptions = {}): SimulationResult {
  let states = new Map<string, StateDoc>(options.initial ?? []);
  const perStep: DeliveryIntent[][] = [];
  const lateByStep: string[][] = [];
  const duplicateByStep: string[][] = [];
  const meterReadingsByStep: number[] = [];
  const watermarksByStep: SimulatedWatermark[][] = [];
  const notesByStep: (readonly string[])[] = [];
  const failed = new Map<number, string>();
  const idle = options.idle;
  const sizes = options.batchSizes ?? [];
  let batchIndex = 0;
  let inBatch = 0;
  // The message of the step (with options.messages): where it started, how many of its steps are left,
  // each asset's state before it (to put back when a rule throws), and its steps' trace calls (made once it ran).
  const messages = options.messages;
  let message = -1;
  let left = 0;
  let start = 0;
  let undo = new Map<string, StateDoc | undefined>();
  let traced: (() => void)[] = [];
  for (const [index, step] of steps.entries()) {
    if (messages !== undefined && left === 0) {
      do left = messages[++message] ?? 1;
      while (left === 0);
      start = index;
      undo = new Map();
      traced = [];
    }
    left--;
    const watermarks: SimulatedWatermark[] = [];
    if (idle && step.receivedAt !== undefined) {
      idle.tick(step.receivedAt);
      for (let t = idle.next(); t !== undefined; t = idle.next()) {
        const doc = states.get(t.id) ?? {};
        if (!holding(rules, doc, t.asset)) continue; // let go until it reports again
        let threw: string | undefined;
        // With messages, a rule that throws on the watermark sets it aside (the asset as before it), as the service quarantines it.
        const onFailure = messages === undefined ? undefined : (_id: string, reason: string) => void (threw = reason);
        const r = flushRules(rules, new Map([[t.id, doc]]), new Map([[t.id, t]]), t.due, t.due, onFailure);
        if (threw !== undefined) {
          watermarks.push({ erpAssetId: t.id, silentSince: t.since, at: t.due, deliveries: [], failed: threw });
          continue; // let go until it reports again (each watermark until then would fail alike)
        }
        const after = r.states.get(t.id) ?? doc;
        states.set(t.id, after);
        options.onStep?.(index, t.id, doc, after, t.due);
        if (r.deliveries.length) watermarks.push({ erpAssetId: t.id, silentSince: t.since, at: t.due, deliveries: r.deliveries });
        if (holding(rules, after, t.asset)) idle.again(t);
      }
    }
    watermarksByStep.push(watermarks);
    const id = step.asset.erpAssetId;
    const before = states.get(id) ?? {};
    let doc = before;
    const redelivered = step.redelivered === true;
    const ctx = { asset: step.asset, destination: step.destination, now: options.now ?? step.event.receivedAt, redelivered };
    const out: DeliveryIntent[] = [];
    const late: string[] = [];
    const duplicate: string[] = [];
    let meterReadings = 0;
    if (idle && step.receivedAt !== undefined && rules.some((r) => r.kinds.includes(step.event.kind))) idle.heard(step.asset, step.destination);
    if (messages !== undefined && failed.has(message)) {
      perStep.push(out);
      lateByStep.push(late);
      duplicateByStep.push(duplicate);
      meterReadingsByStep.push(0);
      notesByStep.push(NO_NOTES);
    } else {
      if (messages !== undefined && !undo.has(id)) undo.set(id, states.get(id));
      let threw: string | undefined;
      for (const rule of rules) {
        if (!rule.kinds.includes(step.event.kind)) continue;
        let result;
        try {
          result = rule.apply(doc[rule.name], step.event, ctx);
        } catch (err) {
          if (messages === undefined) throw err;
          threw = ruleFailureReason(rule.name, step.event.kind, id, err);
          break;
        }
        // As the service counts (ingestor.ts): a redelivery dropped as late was most likely taken already.
        if (result.late === true && !redelivered) late.push(rule.name);
        if (result.duplicate === true) duplicate.push(rule.name);
        if (result.meterReadings !== undefined && !redelivered) meterReadings |= result.meterReadings;
        if (result.state !== doc[rule.name]) doc = { ...doc, [rule.name]: result.state };
        out.push(...result.deliveries);
      }
      if (threw !== undefined) {
        // Set aside as the service quarantines the message: its assets as before it, its steps delivering nothing.
        failed.set(message, threw);
        for (const [k, v] of undo) {
          if (v === undefined) states.delete(k);
          else states.set(k, v);
        }
        for (let j = start; j < index; j++) {
          perStep[j] = [];
          lateByStep[j] = [];
          duplicateByStep[j] = [];
          meterReadingsByStep[j] = 0;
          notesByStep[j] = NO_NOTES;
        }
        perStep.push([]);
        lateByStep.push([]);
        duplicateByStep.push([]);
        meterReadingsByStep.push(0);
        notesByStep.push(NO_NOTES);
      } else {
        states.set(id, doc);
        const onStep = options.onStep;
        if (onStep && messages !== undefined) traced.push(() => onStep(index, id, before, doc));
        else onStep?.(index, id, before, doc);
        perStep.push(out);
        lateByStep.push(late);
        duplicateByStep.push(duplicate);
        meterReadingsByStep.push(meterReadings);
        notesByStep.push(options.explain?.(step, before, doc) ?? NO_NOTES);
      }
    }
    if (messages !== undefined && left === 0 && !failed.has(message)) for (const t of traced) t();
    inBatch++;
    const size = sizes[batchIndex];
    if (size !== undefined && inBatch >= size) {
      states = roundTrip(states);
      batchIndex++;
      inBatch = 0;
    }
  }
  if (messages !== undefined && left > 0 && !failed.has(message)) for (const t of traced) t();
  return { perStep, lateByStep, duplicateByStep, meterReadingsByStep, watermarksByStep, failed, notesByStep, states };
}

/**
 * Ask every flushable rule to decide on the events it still holds for the allowed lateness, for
 * each asset. Returns the deliveries that produces and the resulting states.
 */
export function flushRules(
  rules: readonly Rule[],
  states: ReadonlyMap<string, StateDoc>,
  assets: ReadonlyMap<string, { asset: AssetRecord; destination: string }>,
  now: number,
  /** As an idle watermark at this event time (zone dwell settles too); absent: release all held, nothing more. */
  upTo?: number,
  /**
   * A rule that throws on an asset: called with the service's reason (its watermark for that asset
   * is quarantined), the asset's state left as it was and its deliveries of this flush dropped, and
   * the other assets decided. Absent: the error is thrown.
   */
  onFailure?: (erpAssetId: string, reason: string) => void,
): { deliveries: DeliveryIntent[]; states: Map<string, StateDoc> } {
  const out = new Map(states);
  const deliveries: DeliveryIntent[] = [];
  for (const [id, start] of states) {
    const a = assets.get(id);
    if (!a) continue;
    let doc = start;
    const mine: DeliveryIntent[] = [];
    let threw = false;
    for (const rule of rules) {
      if (!isFlushable(rule) || doc[rule.name] === undefined) continue;
      let r;
      try {
        r = rule.flush(doc[rule.name], { asset: a.asset, destination: a.destination, now }, upTo);
      } catch (err) {
        if (onFailure === undefined) throw err;
        onFailure(id, ruleFailureReason(rule.name, 'watermark', id, err));
        threw = true;
        break;
      }
      doc = { ...doc, [rule.name]: r.state };
      mine.push(...r.deliveries);
    }
    if (threw) continue; // as before: the state as it was, no deliveries
    out.set(id, doc);
    deliveries.push(...mine);
  }
  return { deliveries, states: out };
}

function roundTrip(states: Map<string, StateDoc>): Map<string, StateDoc> {
  return new Map([...states].map(([k, v]) => [k, JSON.parse(JSON.stringify(v)) as StateDoc]));
}
