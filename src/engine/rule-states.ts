/**
 * The rule state the ingest engine holds in memory: each configured rule in its owned form
 * (core/rules/owned.ts), which keeps the state of every asset held here and changes it in place,
 * and the small integer each held asset is known to the rules by. Assets are kept in the order
 * they were last used (the engine lets the least recently used go when the cache is full).
 *
 * Rules of one name share one sub-state (they shared a key of the state document): they run
 * through the pure adapter over one array, so each sees what the other left.
 * @module
 */
import type { AssetRecord } from '../core/model/assets.js';
import { StateJson, type AssetStateDoc } from '../ports/store.js';
import { isFlushable } from '../core/rules/event-time.js';
import { ownedForm, ownedFromPure, type OwnedRule } from '../core/rules/owned.js';
import type { Rule } from '../core/rules/rule.js';

export class RuleStates {
  /** Each configured rule's owned form, by rule bit (its index in the configuration). */
  readonly forms: readonly OwnedRule[];
  /** Each rule's name, by rule bit. */
  readonly names: readonly string[];
  /** The rule bits that load and save a sub-state: the first rule of each name. */
  private readonly savers: readonly number[];
  /** Rules that hold events for the allowed lateness (they decide on idle watermarks), by bit. */
  readonly holding: readonly number[];
  /** Held assets by id, least recently used first. */
  private readonly index = new Map<string, number>();
  private readonly free: number[] = [];
  private next = 0;

  constructor(private readonly pure: readonly Rule[]) {
    const names = pure.map((r) => r.name);
    const shared = new Map<string, unknown[]>();
    this.forms = pure.map((rule, i) => {
      if (names.indexOf(rule.name) === i && names.lastIndexOf(rule.name) === i) return ownedForm(rule);
      let states = shared.get(rule.name);
      if (!states) shared.set(rule.name, (states = []));
      return ownedFromPure(rule, states);
    });
    this.names = names;
    this.savers = names.flatMap((name, i) => (names.indexOf(name) === i ? [i] : []));
    this.holding = pure.flatMap((rule, i) => (isFlushable(rule) ? [i] : []));
  }

  get size(): number {
    return this.index.size;
  }

  /** The index of a held asset (undefined: not held). */
  indexOf(erpAssetId: string): number | undefined {
    return this.index.get(erpAssetId);
  }

  /** Holds an asset from its stored document (undefined: none stored); its index. */
  load(erpAssetId: string, doc: AssetStateDoc | undefined): number {
    const a = this.free.pop() ?? this.next++;
    for (const i of this.savers) (this.forms[i] as OwnedRule).load(a, doc?.[this.names[i] as string]);
    this.index.set(erpAssetId, a);
    return a;
  }

  /** The sub-states of the rules in `mask` (rule bits), as a checkpoint stores them (as JSON text, {@link StateJson}, where the form writes it). */
  save(a: number, mask: number): { doc: AssetStateDoc; changed: string[] } {
    const doc: AssetStateDoc = {};
    const changed: string[] = [];
    for (let i = 0; i < this.names.length; i++) {
      if ((mask & (1 << i)) === 0) continue;
      const name = this.names[i] as string;
      if (name in doc) continue;
      const form = this.forms[this.names.indexOf(name)] as OwnedRule;
      if (form.saveJson === undefined) doc[name] = form.save(a);
      else {
        // The form writes the text a checkpoint stores (it costs a fraction of building the objects and serialising them).
        const text = form.saveJson(a);
        doc[name] = text === undefined ? undefined : new StateJson(text);
      }
      changed.push(name);
    }
    return { doc, changed };
  }

  /** Marks a held asset as the most recently used. */
  touch(erpAssetId: string, a: number): void {
    this.index.delete(erpAssetId);
    this.index.set(erpAssetId, a);
  }

  /** Held assets, least recently used first. */
  ids(): IterableIterator<string> {
    return this.index.keys();
  }

  /** Lets go of a held asset (nothing when not held). */
  drop(erpAssetId: string): void {
    const a = this.index.get(erpAssetId);
    if (a === undefined) return;
    for (const i of this.savers) (this.forms[i] as OwnedRule).drop(a);
    this.index.delete(erpAssetId);
    this.free.push(a);
  }

  /** Lets go of every held asset (before the state is rebuilt from the store). */
  dropAll(): void {
    for (const [, a] of this.index) for (const i of this.savers) (this.forms[i] as OwnedRule).drop(a);
    this.index.clear();
    this.free.length = 0;
    this.next = 0;
  }

  /**
   * Some rule that holds events holds some for held asset `a`: one its watermark could decide.
   * `asset`: its registry record (undefined: not known), so a rule it does not apply to (`appliesTo`) holds nothing.
   */
  holds(a: number, asset: AssetRecord | undefined): boolean {
    for (const i of this.holding) if ((this.forms[i] as OwnedRule).holds(a, asset)) return true;
    return false;
  }

  /** Some rule that holds events holds some in a stored document (read without holding the asset), for `asset` as {@link holds}. */
  docHolds(doc: AssetStateDoc | undefined, asset: AssetRecord | undefined): boolean {
    for (const i of this.holding) {
      const rule = this.pure[i] as Rule;
      if (isFlushable(rule) && rule.holds(doc?.[rule.name], asset)) return true;
    }
    return false;
  }
}
