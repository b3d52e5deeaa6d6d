/**
 * Run rules over events without a store or an outbox: what `rules test` shows, and what the rule
 * property tests drive. It folds events exactly as the ingest engine does — for each event, every
 * rule whose `kinds` include the event's kind, with that asset's sub-state — and can put state
 * through JSON between batches, as the store does.
 * @module
 */
import type { AssetRecord } from '../model/assets.js';
import type { DeliveryIntent } from '../model/delivery.js';
import type { CanonicalEvent } from '../model/events.js';
import { isFlushable } from './event-time.js';
import type { Rule } from './rule.js';

/** Per-asset state document: one sub-state per rule name. */
export type StateDoc = Record<string, unknown>;

export interface SimulationStep {
  readonly event: CanonicalEvent;
  readonly asset: AssetRecord;
  readonly destination: string;
}

export interface SimulationOptions {
  /** State documents to start from (by ERP asset id); absent assets start empty. */
  readonly initial?: ReadonlyMap<string, StateDoc>;
  /** Processing time handed to rules. @default the event's receive time */
  readonly now?: number;
  /** Split the input into batches of these sizes, putting state through JSON between them. */
  readonly batchSizes?: readonly number[];
  /** Called after each step with the asset's state document before and after it (`rules test --trace`). */
  readonly onStep?: (index: number, erpAssetId: string, before: StateDoc, after: StateDoc) => void;
}

export interface SimulationResult {
  /** Deliveries produced by each input step, in input order. */
  readonly perStep: readonly (readonly DeliveryIntent[])[];
  /** Per input step, the rules that dropped its event as late (older than their allowed lateness). */
  readonly lateByStep: readonly (readonly string[])[];
  readonly states: Map<string, StateDoc>;
}

export function simulateRules(rules: readonly Rule[], steps: readonly SimulationStep[], options: SimulationOptions = {}): SimulationResult {
  let states = new Map<string, StateDoc>(options.initial ?? []);
  const perStep: DeliveryIntent[][] = [];
  const lateByStep: string[][] = [];
  const sizes = options.batchSizes ?? [];
  let batchIndex = 0;
  let inBatch = 0;
  for (const [index, step] of steps.entries()) {
    const id = step.asset.erpAssetId;
    const before = states.get(id) ?? {};
    let doc = before;
    const ctx = { asset: step.asset, destination: step.destination, now: options.now ?? step.event.receivedAt };
    const out: DeliveryIntent[] = [];
    const late: string[] = [];
    for (const rule of rules) {
      if (!rule.kinds.includes(step.event.kind)) continue;
      const result = rule.apply(doc[rule.name], step.event, ctx);
      if (result.late === true) late.push(rule.name);
      if (result.state !== doc[rule.name]) doc = { ...doc, [rule.name]: result.state };
      out.push(...result.deliveries);
    }
    states.set(id, doc);
    options.onStep?.(index, id, before, doc);
    perStep.push(out);
    lateByStep.push(late);
    inBatch++;
    const size = sizes[batchIndex];
    if (size !== undefined && inBatch >= size) {
      states = roundTrip(states);
      batchIndex++;
      inBatch = 0;
    }
  }
  return { perStep, lateByStep, states };
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
): { deliveries: DeliveryIntent[]; states: Map<string, StateDoc> } {
  const out = new Map(states);
  const deliveries: DeliveryIntent[] = [];
  for (const [id, start] of states) {
    const a = assets.get(id);
    if (!a) continue;
    let doc = start;
    for (const rule of rules) {
      if (!isFlushable(rule) || doc[rule.name] === undefined) continue;
      const r = rule.flush(doc[rule.name], { asset: a.asset, destination: a.destination, now }, upTo);
      doc = { ...doc, [rule.name]: r.state };
      deliveries.push(...r.deliveries);
    }
    out.set(id, doc);
  }
  return { deliveries, states: out };
}

function roundTrip(states: Map<string, StateDoc>): Map<string, StateDoc> {
  return new Map([...states].map(([k, v]) => [k, JSON.parse(JSON.stringify(v)) as StateDoc]));
}
