/**
 * The oracle for a rule's owned form (src/core/rules/owned.ts): folds the same steps through the
 * pure form and the owned form and throws at the first step where they differ — in deliveries
 * (order included), in the late and duplicate flags, in the state the owned form saves (compared as JSON, with the
 * pure state), in `holds`, or where the pure state changed and the owned form did not say CHANGED.
 * Steps can also put an asset's state through JSON into both (a checkpoint and a restart), or evict
 * it from the owned form and load it back (the engine's cache), so the owned form's `load` and
 * `save` are checked on every state a stream reaches (and `saveJson`, to the character, when the
 * form has it); or give both a stored state of the test's own (an older version's, another
 * configuration's).
 */
import { isDeepStrictEqual } from 'node:util';
import type { AssetRecord } from '../../src/core/model/assets.js';
import type { DeliveryIntent } from '../../src/core/model/delivery.js';
import type { CanonicalEvent } from '../../src/core/model/events.js';
import { createCanonicalDecoder } from '../../src/core/normalize/canonical-decoder.js';
import { isFlushable } from '../../src/core/rules/event-time.js';
import { CHANGED, DUPLICATE, LATE, type OwnedRule } from '../../src/core/rules/owned.js';
import type { Rule, RuleContext } from '../../src/core/rules/rule.js';

export type OracleStep =
  | { readonly event: CanonicalEvent; readonly asset: AssetRecord; readonly now?: number }
  /** An idle watermark at event time `upTo`, or (undefined) the end of a `rules test` input. */
  | { readonly flush: number | undefined; readonly asset: AssetRecord; readonly now?: number }
  /** The asset's state stored and read back by both forms (a checkpoint, then a restart). */
  | { readonly roundTrip: AssetRecord }
  /** The owned form lets go of the asset and loads what it saved (the engine's cache evicting it). */
  | { readonly evict: AssetRecord }
  /** Both forms take `state` as the asset's stored state (one written by an older version, or under another configuration). */
  | { readonly load: AssetRecord; readonly state: unknown };

export interface OracleResult {
  readonly steps: number;
  readonly deliveries: number;
  readonly late: number;
  /** Events the pure form called duplicates (and the owned form flagged so). */
  readonly duplicates: number;
  /** Each delivery, for a test to look at. */
  readonly delivered: readonly DeliveryIntent[];
}

/** JSON's view of a value: what a stored sub-state reads back as. */
const asJson = (v: unknown): unknown => (v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as unknown));

/**
 * Folds `steps` through both forms (each asset gets an index in the order first seen, as the
 * engine gives them) and throws a descriptive error at the first difference.
 */
export function compareOwned(pure: Rule, owned: OwnedRule, steps: readonly OracleStep[], destination = 'erp'): OracleResult {
  const index = new Map<string, number>();
  const states = new Map<string, unknown>();
  const delivered: DeliveryIntent[] = [];
  let late = 0;
  let duplicates = 0;
  /** Every value `save` returned, with its JSON then: a checkpoint may serialise it later, so the rule must not change it afterwards. */
  const savedValues: { readonly n: number; readonly value: unknown; readonly json: string | undefined }[] = [];
  const keep = (n: number, value: unknown): void => {
    if (typeof value === 'object' && value !== null) savedValues.push({ n, value, json: JSON.stringify(value) });
  };
  const checkKept = (n: number): void => {
    for (const k of savedValues) if (JSON.stringify(k.value) !== k.json) fail(n, `the value saved at step ${k.n} (changed after it was saved: save must return a fresh value) and its JSON then`, k.json, k.value);
    savedValues.length = 0;
  };
  const indexOf = (asset: AssetRecord): number => {
    let a = index.get(asset.erpAssetId);
    if (a === undefined) {
      a = index.size;
      index.set(asset.erpAssetId, a);
      owned.load(a, undefined);
    }
    return a;
  };
  const fail = (n: number, what: string, expected: unknown, actual: unknown): never => {
    throw new Error(`step ${n}: ${what} differ\n  pure:  ${JSON.stringify(expected)}\n  owned: ${JSON.stringify(actual)}\n  at: ${JSON.stringify(steps[n])}`);
  };
  /** A form that writes its state's JSON itself (`saveJson`) writes what JSON.stringify makes of `save`'s value, to the character. */
  const checkJson = (n: number, a: number): void => {
    if (owned.saveJson === undefined) return;
    const expected = JSON.stringify(owned.save(a));
    const text = owned.saveJson(a);
    if (text !== expected) throw new Error(`step ${n}: saveJson's text and JSON.stringify(save) differ\n  stringify: ${expected}\n  saveJson:  ${text}\n  at: ${JSON.stringify(steps[n])}`);
  };
  steps.forEach((step, n) => {
    if ('roundTrip' in step) {
      const a = indexOf(step.roundTrip);
      const id = step.roundTrip.erpAssetId;
      const stored = asJson(states.get(id));
      states.set(id, stored);
      owned.load(a, asJson(owned.save(a)));
      if (!isDeepStrictEqual(asJson(owned.save(a)), stored)) fail(n, 'states after a round trip through JSON', stored, asJson(owned.save(a)));
      checkJson(n, a);
      return;
    }
    if ('load' in step) {
      const a = indexOf(step.load);
      const stored = asJson(step.state);
      states.set(step.load.erpAssetId, stored);
      owned.load(a, stored);
      if (!isDeepStrictEqual(asJson(owned.save(a)), stored)) fail(n, 'states after a load', stored, asJson(owned.save(a)));
      checkJson(n, a);
      return;
    }
    if ('evict' in step) {
      const a = indexOf(step.evict);
      const saved = asJson(owned.save(a));
      owned.drop(a);
      owned.load(a, saved);
      return;
    }
    const a = indexOf(step.asset);
    const id = step.asset.erpAssetId;
    const ctx: RuleContext = { asset: step.asset, destination: step.asset.destination ?? destination, now: step.now ?? 0 };
    const before = states.get(id);
    let expected: { state: unknown; deliveries: readonly DeliveryIntent[]; late?: true; duplicate?: true };
    const out: DeliveryIntent[] = [];
    let flags: number;
    if ('event' in step) {
      if (!pure.kinds.includes(step.event.kind)) return;
      expected = pure.apply(before, step.event, ctx);
      flags = owned.apply(a, step.event, ctx, out);
    } else {
      if (!isFlushable(pure)) return;
      expected = pure.flush(before, ctx, step.flush);
      flags = owned.flush(a, ctx, step.flush, out);
    }
    states.set(id, expected.state);
    if (!isDeepStrictEqual(asJson(out), asJson(expected.deliveries))) fail(n, 'deliveries', expected.deliveries, out);
    if ((expected.late === true) !== ((flags & LATE) !== 0)) fail(n, 'late flags', expected.late === true, (flags & LATE) !== 0);
    if ((expected.duplicate === true) !== ((flags & DUPLICATE) !== 0)) fail(n, 'duplicate flags', expected.duplicate === true, (flags & DUPLICATE) !== 0);
    const value = owned.save(a);
    keep(n, value);
    const saved = asJson(value);
    if (!isDeepStrictEqual(saved, asJson(expected.state))) fail(n, 'states', asJson(expected.state), saved);
    checkJson(n, a);
    if (n % 64 === 63) checkKept(n);
    if ((flags & CHANGED) === 0 && !isDeepStrictEqual(asJson(before), asJson(expected.state))) fail(n, 'CHANGED flags (the state changed)', true, false);
    if (isFlushable(pure) && pure.holds(expected.state) !== owned.holds(a)) fail(n, 'holds', pure.holds(expected.state), owned.holds(a));
    // With the asset's record: what the engine asks (a rule that does not apply to it holds nothing).
    if (isFlushable(pure) && pure.holds(expected.state, step.asset) !== owned.holds(a, step.asset)) fail(n, 'holds for the asset', pure.holds(expected.state, step.asset), owned.holds(a, step.asset));
    if ((flags & LATE) !== 0) late++;
    if ((flags & DUPLICATE) !== 0) duplicates++;
    for (const d of out) delivered.push(d);
  });
  checkKept(steps.length);
  return { steps: steps.length, deliveries: delivered.length, late, duplicates, delivered };
}

/**
 * The oracle's steps for a message stream (canonical JSON payloads naming `tag-<n>`, for asset
 * `EQ-<n>`), shuffled within `jitterMs` of event time by `seed` (an arrival order within the allowed
 * lateness, and some beyond it when `jitterMs` is larger), with a round trip through JSON, an
 * eviction and an idle watermark now and then, and a final flush of every asset.
 */
export function streamSteps(
  messages: readonly { readonly payload: string | Uint8Array }[],
  decode: (payload: string) => readonly CanonicalEvent[],
  options: { readonly seed?: number; readonly jitterMs?: number; readonly every?: number; readonly attributes?: Record<string, string> } = {},
): OracleStep[] {
  let seed = options.seed ?? 1;
  const rnd = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const jitter = options.jitterMs ?? 0;
  const every = options.every ?? 37;
  const assets = new Map<string, AssetRecord>();
  const assetOf = (event: CanonicalEvent): AssetRecord => {
    const tag = event.ids[0]?.value ?? 'tag-0';
    const id = `EQ-${tag.slice(4)}`;
    let a = assets.get(id);
    if (!a) assets.set(id, (a = { erpAssetId: id, erpModule: 'maintenance', attributes: { site: 'S1', cost: '100000', expectedUnits: '10000', ...options.attributes } }));
    return a;
  };
  const events = messages.flatMap((m) => decode(typeof m.payload === 'string' ? m.payload : Buffer.from(m.payload).toString('utf8')));
  const arrival = events.map((event, i) => ({ event, at: event.eventTime + (jitter ? rnd() * jitter : 0), i }));
  arrival.sort((x, y) => x.at - y.at || x.i - y.i);
  const steps: OracleStep[] = [];
  arrival.forEach(({ event }, n) => {
    const asset = assetOf(event);
    steps.push({ event, asset, now: event.receivedAt });
    if (n % every === every - 1) steps.push({ roundTrip: asset });
    if (n % (every * 2 + 1) === every) steps.push({ evict: asset });
    if (n % (every * 3 + 2) === every) steps.push({ flush: event.eventTime + 120_000, asset });
  });
  for (const asset of assets.values()) steps.push({ flush: undefined, asset });
  return steps;
}

const canonical = createCanonicalDecoder();

/** The events of a canonical JSON payload (what the oracle's streams are written in); throws on one that does not decode. */
export function decodeCanonical(payload: string): readonly CanonicalEvent[] {
  const r = canonical({ source: 'http', channel: '/v1/events', payload, receivedAt: 0 });
  if (!r.ok) throw new Error(r.reason);
  return r.events;
}
