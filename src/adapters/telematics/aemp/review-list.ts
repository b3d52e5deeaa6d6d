/**
 * The equipment review list: telematics equipment that matched no ERP asset, or whose identifiers
 * point at two different assets, waits here instead of being linked silently. Each entry keeps the
 * latest payload, so a confirmed match re-submits it and nothing pulled is lost (invariant 2).
 *
 * Durable state lives in the store's small key-value space: `asset-review` (one entry per
 * provider and equipment key) and `telematics-confirmed` (equipment key → ERP asset id, matches a
 * person confirmed; they win over identifier matching on later pulls).
 * @module
 */
import { UsageError } from '../../../core/errors/errors.js';
import type { SourceIdentifier } from '../../../core/model/events.js';
import type { RawMessage } from '../../../core/model/messages.js';
import { EquipmentMatcher, type MatchCandidate } from '../../../core/telematics/equipment-match.js';
import type { IngestSink, SubmitResult } from '../../../ports/source.js';
import type { Store } from '../../../ports/store.js';
import type { AempEquipmentHeader } from './aemp-parser.js';
import { rewriteIdentity } from './identity-rewrite.js';

export const REVIEW_NAMESPACE = 'asset-review';
export const CONFIRMED_NAMESPACE = 'telematics-confirmed';

export type ReviewStatus = 'unmatched' | 'ambiguous' | 'resolved';

export interface ReviewEntry {
  /** Provider config name. */
  readonly provider: string;
  /** Equipment key within the provider (`machine-id:…`, `pin:…`). */
  readonly key: string;
  readonly status: ReviewStatus;
  readonly header: AempEquipmentHeader;
  readonly ids: readonly SourceIdentifier[];
  /** For ambiguous equipment: the assets its identifiers point at. */
  readonly candidates: readonly MatchCandidate[];
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  readonly seenCount: number;
  /** The latest pull's raw message for this equipment, re-submitted on confirmation. */
  readonly message: { readonly source: string; readonly channel: string; readonly payload: string; readonly receivedAt: number };
  readonly resolution?: { readonly erpAssetId: string; readonly at: number; readonly how: 'confirmed' | 'matched' };
}

/** The store key of an entry: `<provider>|<equipment key>`; what `assets confirm` takes. */
export function reviewId(provider: string, key: string): string {
  return `${provider}|${key}`;
}

type ReviewStore = Pick<Store, 'kvGet' | 'kvSet' | 'kvList'>;

/** Record equipment for review, keeping when it was first seen and how often. */
export async function recordForReview(store: ReviewStore, entries: readonly Omit<ReviewEntry, 'firstSeenAt' | 'seenCount'>[]): Promise<void> {
  for (const entry of entries) {
    const id = reviewId(entry.provider, entry.key);
    const previous = parseEntry(await store.kvGet(REVIEW_NAMESPACE, id));
    const open = previous !== undefined && previous.status !== 'resolved';
    const merged: ReviewEntry = {
      ...entry,
      firstSeenAt: open ? previous.firstSeenAt : entry.lastSeenAt,
      seenCount: open ? previous.seenCount + 1 : 1,
    };
    await store.kvSet(REVIEW_NAMESPACE, id, JSON.stringify(merged));
  }
}

/** Mark open entries as resolved because they now match (e.g. after an asset import). */
export async function resolveMatched(store: ReviewStore, resolved: readonly { provider: string; key: string; erpAssetId: string }[], now: number): Promise<number> {
  let count = 0;
  for (const r of resolved) {
    const id = reviewId(r.provider, r.key);
    const entry = parseEntry(await store.kvGet(REVIEW_NAMESPACE, id));
    if (!entry || entry.status === 'resolved') continue;
    await store.kvSet(REVIEW_NAMESPACE, id, JSON.stringify({ ...entry, status: 'resolved', resolution: { erpAssetId: r.erpAssetId, at: now, how: 'matched' } } satisfies ReviewEntry));
    count++;
  }
  return count;
}

/** Review entries, open ones only unless `all`, most recently seen first. */
export async function listReview(store: Pick<Store, 'kvList'>, opts: { all?: boolean; provider?: string } = {}): Promise<ReviewEntry[]> {
  const rows = await store.kvList(REVIEW_NAMESPACE);
  return rows
    .map((r) => parseEntry(r.value))
    .filter((e): e is ReviewEntry => e !== undefined)
    .filter((e) => (opts.all || e.status !== 'resolved') && (opts.provider === undefined || e.provider === opts.provider))
    .sort((a, b) => b.lastSeenAt - a.lastSeenAt || a.key.localeCompare(b.key));
}

/** Keys of open entries of one provider (to resolve those that match on a later pull). */
export async function openReviewKeys(store: Pick<Store, 'kvList'>, provider: string): Promise<Set<string>> {
  return new Set((await listReview(store, { provider })).map((e) => e.key));
}

/** Confirmed matches of one provider: equipment key → ERP asset id. */
export async function loadConfirmed(store: Pick<Store, 'kvList'>, provider: string): Promise<Map<string, string>> {
  const prefix = `${provider}|`;
  const map = new Map<string, string>();
  for (const { key, value } of await store.kvList(CONFIRMED_NAMESPACE)) if (key.startsWith(prefix) && value !== '') map.set(key.slice(prefix.length), value);
  return map;
}

export interface ConfirmResult {
  readonly entry: ReviewEntry;
  readonly erpAssetId: string;
  /** Identifiers added to the asset in the registry (those no other asset had). */
  readonly addedIdentifiers: readonly SourceIdentifier[];
  /** Identifiers left out because another asset has them (ambiguous equipment). */
  readonly conflicting: readonly SourceIdentifier[];
  /** The re-submitted payload's outcome, when a sink was given. */
  readonly submitted?: SubmitResult;
}

/**
 * Confirm that review entry `id` (`<provider>|<key>`, its key, or one of its identifiers such as the
 * PIN, when that names one entry) is ERP
 * asset `erpAssetId`: remember the match, add the equipment's free identifiers to the asset, mark
 * the entry resolved, and re-submit its payload through `sink` (identifiers that point at other
 * assets are left out of the re-submitted copy, so the engine resolves it to this asset).
 * The caller tells a running service to reload identity afterwards.
 */
export async function confirmReview(
  deps: { store: Pick<Store, 'kvGet' | 'kvSet' | 'kvList' | 'listAssets' | 'upsertAssets'>; sink?: IngestSink; now: number },
  id: string,
  erpAssetId: string,
): Promise<ConfirmResult> {
  const { store } = deps;
  const entry = await findEntry(store, id);
  const assets = await store.listAssets();
  const target = assets.find((a) => a.asset.erpAssetId === erpAssetId);
  if (!target) {
    const similar = assets.filter((a) => a.asset.erpAssetId.toLowerCase().includes(erpAssetId.toLowerCase())).slice(0, 5);
    const hint = similar.length ? `; did you mean ${similar.map((a) => a.asset.erpAssetId).join(', ')}?` : '; import it first with "assetbridge assets import"';
    throw new UsageError(`no ERP asset "${erpAssetId}" in the registry${hint}`);
  }
  const matcher = new EquipmentMatcher(assets);
  const added: SourceIdentifier[] = [];
  const conflicting: SourceIdentifier[] = [];
  for (const sid of entry.ids) {
    const m = matcher.match('', [sid]);
    if (m.status === 'unmatched') added.push(sid);
    else if (m.status === 'matched' && m.erpAssetId !== erpAssetId) conflicting.push(sid);
    else if (m.status === 'ambiguous') conflicting.push(sid);
  }
  if (added.length) {
    await store.upsertAssets([{ asset: target.asset, identifiers: [...target.identifiers, ...added.map((a) => ({ ...a, erpAssetId }))] }]);
  }
  await store.kvSet(CONFIRMED_NAMESPACE, reviewId(entry.provider, entry.key), erpAssetId);
  const resolvedEntry: ReviewEntry = { ...entry, status: 'resolved', resolution: { erpAssetId, at: deps.now, how: 'confirmed' } };
  let submitted: SubmitResult | undefined;
  if (deps.sink) {
    const payload = conflicting.length ? rewriteIdentity(entry.message.payload, entry.ids.filter((i) => !conflicting.includes(i))) : entry.message.payload;
    const message: RawMessage = { ...entry.message, payload };
    submitted = await deps.sink.submit([message]);
  }
  await store.kvSet(REVIEW_NAMESPACE, reviewId(entry.provider, entry.key), JSON.stringify(resolvedEntry));
  return { entry: resolvedEntry, erpAssetId, addedIdentifiers: added, conflicting, ...(submitted ? { submitted } : {}) };
}

async function findEntry(store: ReviewStore, id: string): Promise<ReviewEntry> {
  const direct = parseEntry(await store.kvGet(REVIEW_NAMESPACE, id));
  if (direct) return direct;
  const wanted = id.trim().toUpperCase();
  const all = await listReview(store, { all: true });
  const hits = all.filter(
    (e) => e.key.toUpperCase() === wanted || e.key.toUpperCase().endsWith(`:${wanted}`) || e.ids.some((i) => i.value.trim().toUpperCase() === wanted),
  );
  const open = hits.filter((e) => e.status !== 'resolved');
  const pick = open.length ? open : hits;
  if (pick.length === 1) return pick[0] as ReviewEntry;
  if (pick.length > 1) throw new UsageError(`"${id}" names ${pick.length} review entries (${pick.map((e) => reviewId(e.provider, e.key)).join(', ')}); use the full id`);
  throw new UsageError(`no review entry "${id}"; list them with "assetbridge assets unmatched"`);
}

function parseEntry(text: string | undefined): ReviewEntry | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    const e = JSON.parse(text) as ReviewEntry;
    return typeof e.key === 'string' && typeof e.provider === 'string' ? e : undefined;
  } catch {
    return undefined;
  }
}
