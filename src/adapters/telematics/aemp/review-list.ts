/**
 * What a fleet pull remembers per page, and the equipment review list built from it.
 *
 * Every stored page writes one record (one store write per page, however many machines it holds):
 * the compact identity of each machine (for backfill) and the machines waiting for review, those
 * that matched no ERP asset or whose identifiers point at two different assets. Review entries keep
 * the machine's latest payload, so a confirmed match re-submits it and nothing pulled is lost
 * (invariant 2). Records are rewritten by every pull of their page, so the list always shows the
 * latest state: a machine that matches since (an asset import, a confirmation) leaves it.
 *
 * Store namespaces: `telematics-pages` (`<provider>|<page URL>` → page record) and
 * `telematics-confirmed` (`<provider>|<equipment key>` → ERP asset id: matches a person confirmed,
 * which win over identifier matching on later pulls).
 * @module
 */
import { NotFoundError, UsageError } from '../../../core/errors/errors.js';
import type { SourceIdentifier } from '../../../core/model/events.js';
import type { RawMessage } from '../../../core/model/messages.js';
import { EquipmentMatcher, type MatchCandidate } from '../../../core/telematics/equipment-match.js';
import type { IngestSink, SubmitResult } from '../../../ports/source.js';
import type { Store } from '../../../ports/store.js';
import type { AempEquipmentHeader } from './aemp-parser.js';
import { rewriteIdentity } from './identity-rewrite.js';

export const PAGES_NAMESPACE = 'telematics-pages';
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
  /** Pulls that found it unmatched in a row. */
  readonly seenCount: number;
  /** The latest pull's raw message for this equipment, re-submitted on confirmation. */
  readonly message: { readonly source: string; readonly channel: string; readonly payload: string; readonly receivedAt: number };
  readonly resolution?: { readonly erpAssetId: string; readonly at: number };
}

/** Compact identity of a pulled machine, kept for backfill. */
export interface EquipmentIndexEntry {
  readonly key: string;
  readonly ids: readonly SourceIdentifier[];
  /** The ERP asset it matched, when it did. */
  readonly erpAssetId?: string;
}

/** What one stored page leaves behind. */
export interface PageRecord {
  /** Start of the pull (the first run of a resumed one) that stored the page. */
  readonly pullStartedAt: number;
  readonly storedAt: number;
  readonly equipment: readonly EquipmentIndexEntry[];
  readonly review: readonly ReviewEntry[];
}

/** The id `assets confirm` takes: `<provider>|<equipment key>`. */
export function reviewId(provider: string, key: string): string {
  return `${provider}|${key}`;
}

type KvStore = Pick<Store, 'kvGet' | 'kvSet' | 'kvList'>;

/** Store the record of one page (one write). */
export function savePageRecord(store: Pick<Store, 'kvSet'>, provider: string, pageUrl: string, record: PageRecord): Promise<void> {
  return store.kvSet(PAGES_NAMESPACE, `${provider}|${pageUrl}`, JSON.stringify(record));
}

/**
 * After a pull that read the snapshot to its end: delete the records of pages it did not store
 * (pages past the new last page, URLs that changed), so machines that left the snapshot or moved
 * to another page do not linger on the review list or in the backfill index.
 *
 * `storedNow`: the URLs of the pages this run stored, kept without reading them. A pull of 100,000
 * machines leaves ~36 MB of page records, and parsing them all only to find their pull's start
 * took most of a second at the end of every pull; what is read now is the records of earlier runs
 * (an interrupted pull's first run, which are kept, and pages that left the snapshot).
 */
export async function dropPageRecordsBefore(
  store: Pick<Store, 'kvList' | 'kvDelete'>,
  provider: string,
  pullStartedAt: number,
  storedNow: ReadonlySet<string>,
): Promise<number> {
  const prefix = `${provider}|`;
  let dropped = 0;
  for (const { key, value } of await store.kvList(PAGES_NAMESPACE)) {
    if (!key.startsWith(prefix) || storedNow.has(key.slice(prefix.length))) continue;
    const record = parsePageRecord(value);
    if (record === undefined || record.pullStartedAt === pullStartedAt) continue;
    if (await store.kvDelete(PAGES_NAMESPACE, key)) dropped++;
  }
  return dropped;
}

/** Every page record of one provider (or of all, without `provider`). */
export async function loadPageRecords(store: Pick<Store, 'kvList'>, provider?: string): Promise<{ key: string; record: PageRecord }[]> {
  const prefix = provider === undefined ? '' : `${provider}|`;
  const out: { key: string; record: PageRecord }[] = [];
  for (const { key, value } of await store.kvList(PAGES_NAMESPACE)) {
    if (!key.startsWith(prefix)) continue;
    const record = parsePageRecord(value);
    if (record !== undefined) out.push({ key, record });
  }
  return out;
}

/** A stored page record; undefined when damaged (it only narrows the list until the next pull rewrites it). */
function parsePageRecord(value: string): PageRecord | undefined {
  try {
    const record = JSON.parse(value) as PageRecord;
    return Array.isArray(record.equipment) && Array.isArray(record.review) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Machines seen by earlier pulls (for backfill), one per equipment key, the latest wins. */
export async function loadEquipmentIndex(store: Pick<Store, 'kvList'>, provider: string): Promise<EquipmentIndexEntry[]> {
  const byKey = new Map<string, { entry: EquipmentIndexEntry; at: number }>();
  for (const { record } of await loadPageRecords(store, provider)) {
    for (const entry of record.equipment) {
      const seen = byKey.get(entry.key);
      if (!seen || seen.at <= record.storedAt) byKey.set(entry.key, { entry, at: record.storedAt });
    }
  }
  return [...byKey.values()].map((v) => v.entry);
}

/** Review entries (open ones unless `all`), one per machine, most recently seen first. */
export async function listReview(store: Pick<Store, 'kvList'>, opts: { all?: boolean; provider?: string } = {}): Promise<ReviewEntry[]> {
  return reviewOf(await loadPageRecords(store, opts.provider), opts);
}

/** {@link listReview} over page records already read. */
function reviewOf(records: readonly { readonly record: PageRecord }[], opts: { all?: boolean }): ReviewEntry[] {
  const byId = new Map<string, ReviewEntry>();
  for (const { record } of records) {
    for (const entry of record.review) {
      const id = reviewId(entry.provider, entry.key);
      const seen = byId.get(id);
      if (!seen || seen.lastSeenAt <= entry.lastSeenAt) byId.set(id, entry);
    }
  }
  return [...byId.values()]
    .filter((e) => opts.all || e.status !== 'resolved')
    .sort((a, b) => b.lastSeenAt - a.lastSeenAt || a.key.localeCompare(b.key));
}

/**
 * Open entries of one provider by equipment key (a pull merges its findings into them), from its
 * page records (`loadPageRecords(store, provider)`: a pull that reads them for more reads them once).
 */
export function openReviewMap(records: readonly { readonly record: PageRecord }[]): Map<string, ReviewEntry> {
  return new Map(reviewOf(records, {}).map((e) => [e.key, e]));
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
 * Confirm that review entry `id` (`<provider>|<key>`, its key, or one of its identifiers such as
 * the PIN, when that names one entry) is ERP asset `erpAssetId`: remember the match, add the
 * machine's free identifiers to the asset, mark the entry resolved, and re-submit its payload
 * through `sink` (identifiers that point at other assets are left out of the re-submitted copy, so
 * the engine resolves it to this asset). The caller tells a running service to reload identity.
 */
export async function confirmReview(
  deps: { store: KvStore & Pick<Store, 'listAssets' | 'upsertAssets'>; sink?: IngestSink; now: number },
  id: string,
  erpAssetId: string,
  opts: { force?: boolean } = {},
): Promise<ConfirmResult> {
  const { store } = deps;
  const entry = await findEntry(store, id);
  const assets = await store.listAssets();
  const target = assets.find((a) => a.asset.erpAssetId === erpAssetId);
  if (!target) {
    const similar = assets.filter((a) => a.asset.erpAssetId.toLowerCase().includes(erpAssetId.toLowerCase())).slice(0, 5);
    const hint = similar.length ? `; did you mean ${similar.map((a) => a.asset.erpAssetId).join(', ')}?` : '; import it first with "assetbridge assets import"';
    throw new NotFoundError(`no ERP asset "${erpAssetId}" in the registry${hint}`);
  }
  if (!opts.force) await refuseSecondMachine(store, entry, erpAssetId);
  const matcher = new EquipmentMatcher(assets);
  const added: SourceIdentifier[] = [];
  const conflicting: SourceIdentifier[] = [];
  for (const sid of entry.ids) {
    const m = matcher.match('', [sid]);
    if (m.status === 'unmatched') added.push(sid);
    else if (m.status === 'ambiguous' || (m.status === 'matched' && m.erpAssetId !== erpAssetId)) conflicting.push(sid);
  }
  if (added.length) {
    await store.upsertAssets([{ asset: target.asset, identifiers: [...target.identifiers, ...added.map((a) => ({ ...a, erpAssetId }))] }]);
  }
  await store.kvSet(CONFIRMED_NAMESPACE, reviewId(entry.provider, entry.key), erpAssetId);
  let submitted: SubmitResult | undefined;
  if (deps.sink) {
    const payload = conflicting.length ? rewriteIdentity(entry.message.payload, entry.ids.filter((i) => !conflicting.includes(i))) : entry.message.payload;
    const message: RawMessage = { ...entry.message, payload };
    submitted = await deps.sink.submit([message]);
  }
  const resolved: ReviewEntry = { ...entry, status: 'resolved', resolution: { erpAssetId, at: deps.now } };
  await markResolved(store, resolved);
  return { entry: resolved, erpAssetId, addedIdentifiers: added, conflicting, ...(submitted ? { submitted } : {}) };
}

/**
 * Refuse to confirm a machine as an ERP asset that another machine of the same feed already
 * matched (its last pull) or was confirmed as: both machines' hour meters and locations would
 * reach that one asset, each reading of one looking like a jump of the other's meter (a mistyped
 * asset id does this). `--force` confirms it anyway.
 */
async function refuseSecondMachine(store: KvStore, entry: ReviewEntry, erpAssetId: string): Promise<void> {
  const others = new Set<string>();
  for (const e of await loadEquipmentIndex(store, entry.provider)) if (e.erpAssetId === erpAssetId && e.key !== entry.key) others.add(e.key);
  for (const [key, asset] of await loadConfirmed(store, entry.provider)) if (asset === erpAssetId && key !== entry.key) others.add(key);
  if (others.size === 0) return;
  const named = [...others].slice(0, 3).map((k) => reviewId(entry.provider, k)).join(', ');
  throw new UsageError(
    `ERP asset ${erpAssetId} already gets the data of ${others.size === 1 ? 'another machine' : `${others.size} other machines`} of ${entry.provider} (${named}${others.size > 3 ? ', …' : ''}): ` +
      `confirming ${reviewId(entry.provider, entry.key)} as it too would mix two machines' hour meters and locations on one asset. ` +
      `Check the asset id ('assetbridge assets list' shows each asset's identifiers); if both really are this one asset, run the command again with --force`,
  );
}

/** Replace the entry in every page record that holds it (normally one). */
async function markResolved(store: KvStore, resolved: ReviewEntry): Promise<void> {
  for (const { key, record } of await loadPageRecords(store, resolved.provider)) {
    if (!record.review.some((e) => e.key === resolved.key)) continue;
    const review = record.review.map((e) => (e.key === resolved.key ? resolved : e));
    await store.kvSet(PAGES_NAMESPACE, key, JSON.stringify({ ...record, review } satisfies PageRecord));
  }
}

async function findEntry(store: KvStore, id: string): Promise<ReviewEntry> {
  const all = await listReview(store, { all: true });
  const exact = all.filter((e) => reviewId(e.provider, e.key) === id);
  const wanted = id.trim().toUpperCase();
  const hits = exact.length
    ? exact
    : all.filter((e) => e.key.toUpperCase() === wanted || e.key.toUpperCase().endsWith(`:${wanted}`) || e.ids.some((i) => i.value.trim().toUpperCase() === wanted));
  const open = hits.filter((e) => e.status !== 'resolved');
  const pick = open.length ? open : hits;
  if (pick.length === 1) return pick[0] as ReviewEntry;
  if (pick.length > 1) throw new UsageError(`"${id}" names ${pick.length} review entries (${pick.map((e) => reviewId(e.provider, e.key)).join(', ')}); use the full id`);
  throw new NotFoundError(`no review entry "${id}"; list them with "assetbridge assets unmatched"`);
}
