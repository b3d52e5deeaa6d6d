/**
 * Replaying quarantined messages through the pipeline once their cause is fixed (a mapping added,
 * a decoder corrected). The original bytes go through decode → validate → identify → rules again;
 * a message that fails again is quarantined anew with its current reason, so nothing is lost. A
 * work-order record an ERP pushed that its webhook could not read, or one a poll listed and could
 * not read, kept as the ERP sent it, is read again as the webhook reads it: by the destination's
 * connector under the current config, then held to the same feedback checks ({@link pushedMessages});
 * what is said of it names where it came from (its entry's channel: {@link feedbackOrigin}).
 * @module
 */
import type { QuarantineCode, RawMessage } from '../core/model/messages.js';
import { feedbackOrigin, originText, type FeedbackOrigin } from '../core/rules/maintenance/work-order.js';
import type { IngestSink } from '../ports/source.js';
import type { QuarantineRow, Store } from '../ports/store.js';
import { openedAtOf } from './tasks/work-order-feedback.js';
import { keptOnlyPrefix } from './too-large.js';
import { pushedKeys, readPushedRecords, withoutOpenedAt, type PushReader } from './work-order-push.js';

export interface ReplaySummary {
  readonly replayed: number;
  readonly accepted: number;
  readonly stillQuarantined: number;
  readonly reasons: Readonly<Record<string, number>>;
  /** Entries named by id that were not replayed: not open (or not of the code asked). */
  readonly skipped?: readonly number[];
  /** What each of `skipped` that is not open is now (discarded, replayed and where it went, no such entry). */
  readonly skippedStates?: Readonly<Record<number, string>>;
  /** Those of `skipped` that are open, but of another code than the one asked (`--code`). */
  readonly notOfCode?: { readonly code: string; readonly ids: readonly number[] };
  /** Open `unreadable-page` entries passed over: pages a telematics pull could not read, not messages to run again. */
  readonly pages?: readonly number[];
  /** Open `too-large` entries passed over: only the start of each payload was kept, nothing whole to run again. */
  readonly prefixes?: readonly number[];
  /**
   * Open entries of work orders an ERP pushed, passed over (left open) by the destination they were
   * pushed to: no destination of that name in the config reads pushes, so nothing can read them.
   */
  readonly noDestination?: Readonly<Record<string, readonly number[]>>;
  /** As {@link noDestination}, of work orders a poll of the destination listed and could not read. */
  readonly noPolledDestination?: Readonly<Record<string, readonly number[]>>;
  /** Stopped between two chunks (Ctrl-C on the command): of `total` to replay, the rest stays open. */
  readonly interrupted?: { readonly total: number };
}

/** At most this many reasons of entries quarantined again in a replay summary (the most frequent); it counts the others. */
const SUMMARY_REASONS = 20;

/** The end-of-replay summary for people. */
export function formatReplaySummary(s: ReplaySummary): string {
  let out = `replayed ${s.replayed}: ${s.accepted} accepted, ${s.stillQuarantined} quarantined again\n`;
  // The most frequent first; thousands of entries each with its own reason (an unknown tag each) would flood the terminal.
  const reasons = Object.entries(s.reasons).sort((a, b) => b[1] - a[1]);
  for (const [reason, n] of reasons.slice(0, SUMMARY_REASONS)) out += `  ${n} × ${reason}\n`;
  if (reasons.length > SUMMARY_REASONS) {
    const rest = reasons.slice(SUMMARY_REASONS);
    const n = rest.reduce((sum, [, count]) => sum + count, 0);
    out += `  … and ${n} with ${rest.length} other reason(s): 'assetbridge quarantine list' lists them (--code to narrow)\n`;
  }
  const otherCode = s.notOfCode?.ids ?? [];
  const notOpen = (s.skipped ?? []).filter((id) => !otherCode.includes(id));
  if (notOpen.length) out += `not replayed (not open): ${notOpen.map((id) => `${id} (${s.skippedStates?.[id] ?? 'already replayed or discarded, or no such entry'})`).join(', ')}\n`;
  if (s.notOfCode && otherCode.length) out += `not replayed (open, but not of code ${s.notOfCode.code}; name them without --code): ${otherCode.join(', ')}\n`;
  if (s.pages?.length)
    out += `not replayed (pages a telematics pull could not read, not messages: 'assetbridge quarantine show ID --payload' writes one out, the aemp command that met it asks for it again when run again; discard them when done): ${s.pages.join(', ')}\n`;
  if (s.prefixes?.length)
    out += `not replayed (too large: only the start of each payload was kept, nothing whole to run again; 'assetbridge quarantine show ID' says what sent it: fix the sender, then discard them): ${s.prefixes.join(', ')}\n`;
  for (const [destination, ids] of Object.entries(s.noDestination ?? {}))
    out += `not replayed (work orders pushed to destination "${destination}", which is no longer in the config or takes no work-order pushes, so nothing reads them: put the destination back under its old name (destinations[].name) and replay them, or discard them): ${ids.join(', ')}\n`;
  for (const [destination, ids] of Object.entries(s.noPolledDestination ?? {}))
    out += `not replayed (work orders polled from destination "${destination}", which is no longer in the config or reads no work orders, so nothing reads them: put the destination back under its old name (destinations[].name) and replay them, or discard them): ${ids.join(', ')}\n`;
  if (s.interrupted) out += `interrupted after ${s.replayed} of ${s.interrupted.total}: the others stay open; run the same replay again for them\n`;
  return out;
}

/**
 * What each quarantine entry named by id that is not open is now: `no such entry`, `discarded`,
 * `replayed` (accepted then), or replayed and quarantined again as a new entry, which is the one to
 * replay after a further fix. For the ids a replay or discard could not close.
 */
export async function quarantineStates(store: Pick<Store, 'listQuarantine'>, ids: readonly number[]): Promise<Record<number, string>> {
  const rows = ids.length ? await store.listQuarantine({ ids, limit: ids.length }) : [];
  const out: Record<number, string> = {};
  for (const id of ids) {
    const row = rows.find((r) => r.id === id);
    if (!row) out[id] = 'no such entry';
    else if (row.status !== 'replayed') out[id] = row.status;
    else {
      const again = await store.listQuarantine({ replayOf: id, limit: 10 });
      const open = again.some((r) => r.status === 'open') ? ': replay that one after the fix' : '';
      out[id] = again.length ? `replayed already, quarantined again as ${again.map((r) => `${r.id} (${r.status})`).join(', ')}${open}` : 'replayed already, and accepted';
    }
  }
  return out;
}

/** The replay running on each store: replays run one after another, so no entry is submitted twice. */
const running = new WeakMap<Store, Promise<unknown>>();

export function replayQuarantine(
  store: Store,
  sink: IngestSink,
  filter: { ids?: readonly number[]; code?: string },
  onProgress?: (done: number, total: number) => void,
  /** Stops the replay between two chunks (each chunk's entries close with its outcome, so none is replayed twice). */
  signal?: AbortSignal,
  /**
   * How each destination reads its ERP's work-order pushes, by name (the config's, as its webhook
   * reads them): a pushed record its webhook could not read is read again by it. Absent: such a
   * record is replayed as any other entry, through the decoder of its source.
   */
  pushReaders?: ReadonlyMap<string, PushReader>,
): Promise<ReplaySummary> {
  // Two replays at once (two CLI requests to one service) would both read the same open entries.
  const next = (running.get(store) ?? Promise.resolve()).catch(() => undefined).then(() => replayOpen(store, sink, filter, onProgress, signal, pushReaders));
  running.set(store, next);
  return next;
}

/** Entries replayed per submit, and read per query. */
const CHUNK = 500;

async function replayOpen(
  store: Store,
  sink: IngestSink,
  filter: { ids?: readonly number[]; code?: string },
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
  pushReaders?: ReadonlyMap<string, PushReader>,
): Promise<ReplaySummary> {
  const code = filter.code ? { code: filter.code as QuarantineCode } : {};
  let named: QuarantineRow[] | undefined;
  let skipped: number[] = [];
  let notOfCode: number[] = [];
  if (filter.ids) {
    named = await store.listQuarantine({ status: 'open', ...code, ids: filter.ids, limit: filter.ids.length });
    const found = new Set(named.map((r) => r.id));
    skipped = [...new Set(filter.ids)].filter((id) => !found.has(id));
    // Ids named with --code that are open under another code: not "already replayed or discarded".
    if (filter.code && skipped.length) notOfCode = (await store.listQuarantine({ status: 'open', ids: skipped, limit: skipped.length })).map((r) => r.id);
  }
  const total = named?.length ?? (await store.countQuarantine({ status: 'open', ...code }));
  let replayed = 0;
  let accepted = 0;
  let still = 0;
  const reasons: Record<string, number> = {};
  const done = new Set<number>();
  let interrupted = false;
  const pages: number[] = [];
  const prefixes: number[] = [];
  const noDestination: Record<string, number[]> = {};
  const noPolledDestination: Record<string, number[]> = {};
  for await (const all of named ? slices(named) : openEntries(store, code, done)) {
    if (signal?.aborted) {
      interrupted = true;
      break;
    }
    // A page a telematics pull could not read is no message: run through a decoder it would only be set aside again.
    // Nor is the start of a too-large payload, all its entry keeps: run again it would be set aside as something else.
    const readable = all.filter((r) => (r.code !== 'unreadable-page' || (pages.push(r.id), false)) && (!keptOnlyPrefix(r) || (prefixes.push(r.id), false)));
    // Pushed work orders are read by their destination's connector; those of a destination that reads none stay open.
    const { messages, passedOver } = pushReaders ? await pushedMessages(store, readable, pushReaders) : { messages: readable.map(asMessage), passedOver: [] };
    for (const { origin, id } of passedOver) ((origin.via === 'polled' ? noPolledDestination : noDestination)[origin.destination] ??= []).push(id);
    const left = new Set(passedOver.map((p) => p.id));
    const part = readable.filter((r) => !left.has(r.id));
    if (part.length === 0) continue;
    // The old rows are done either way (accepted, or quarantined again as a new row): each closes in
    // the transaction that stores its message's new outcome (`replayOf`), so a crash in between
    // cannot leave it open to be replayed a second time.
    const result = await sink.submit(messages);
    accepted += result.accepted;
    still += result.quarantined.length;
    for (const q of result.quarantined) reasons[q.reason] = (reasons[q.reason] ?? 0) + 1;
    for (const r of part) done.add(r.id);
    replayed += part.length;
    onProgress?.(Math.min(replayed, total), total);
  }
  const notOpen = skipped.filter((id) => !notOfCode.includes(id));
  return {
    replayed,
    accepted,
    stillQuarantined: still,
    reasons,
    ...(skipped.length ? { skipped } : {}),
    ...(notOpen.length ? { skippedStates: await quarantineStates(store, notOpen) } : {}),
    ...(filter.code && notOfCode.length ? { notOfCode: { code: filter.code, ids: notOfCode } } : {}),
    ...(pages.length ? { pages } : {}),
    ...(prefixes.length ? { prefixes } : {}),
    ...(Object.keys(noDestination).length ? { noDestination } : {}),
    ...(Object.keys(noPolledDestination).length ? { noPolledDestination } : {}),
    ...(interrupted ? { interrupted: { total } } : {}),
  };
}

/** An entry run again as it was kept, through the decoder of its source. */
const asMessage = (r: QuarantineRow): RawMessage => ({ source: r.source, channel: r.channel, payload: r.payload, receivedAt: r.receivedAt, replayOf: r.id });

/**
 * The messages `rows` are run again as. A work-order record an ERP pushed that its webhook could
 * not read, or one a poll listed and could not read ({@link pushedRecord}), is read as the webhook
 * reads it, by the reader of the destination it came from (the current config's), and held to the
 * same checks: an update of a work order opened at another destination (the outbox says where), or
 * of a key no rule makes, is not taken; `openedAtDestination` comes from the outbox only. What is
 * still not taken is set aside again, with why (naming where it came from: polled or pushed), as
 * the ERP sent it (without an `openedAtDestination` of its own). A destination with no reader (gone
 * from the config): its entries are `passedOver`, left open.
 */
async function pushedMessages(store: Pick<Store, 'factDeliveries'>, rows: readonly QuarantineRow[], readers: ReadonlyMap<string, PushReader>): Promise<{ messages: RawMessage[]; passedOver: { origin: FeedbackOrigin; id: number }[] }> {
  const passedOver: { origin: FeedbackOrigin; id: number }[] = [];
  const read = rows.map((row) => {
    const pushed = pushedRecord(row);
    if (pushed === undefined) return { row };
    const { origin } = pushed;
    const reader = readers.get(origin.destination);
    if (reader === undefined) {
      passedOver.push({ origin, id: row.id });
      return undefined;
    }
    const records = reader.records ? reader.records([pushed.record]) : [pushed.record];
    return { row, origin, record: pushed.record, records, parsed: reader.parse(records) };
  });
  const openedAt = await openedAtOf(store, [...new Set(read.flatMap((r) => (r?.parsed ? pushedKeys(r.parsed) : [])))]);
  const messages: RawMessage[] = [];
  for (const r of read) {
    if (r === undefined) continue;
    if (r.parsed === undefined) {
      messages.push(asMessage(r.row));
      continue;
    }
    const { row } = r;
    const kept = (payload: unknown, reason: string, version?: string): RawMessage => ({ ...asMessage(row), payload: JSON.stringify(withoutOpenedAt(payload)), setAside: { code: 'invalid', reason, ...(version !== undefined ? { version } : {}) } });
    // A polled record that still cannot be read keeps the version its poll tells it by: the next
    // poll listing it (its bytes may differ, as the ERP stamps each listing) counts it on the entry
    // this opens, which the store finds by that version, instead of keeping it once more.
    const versionOf = (index: number): string | undefined => (r.origin.via === 'polled' ? readers.get(r.origin.destination)?.version?.(r.records[index]) : undefined);
    if (r.records.length === 0) messages.push(kept(r.record, `the ${r.origin.via === 'polled' ? 'record' : 'body'} ${originText(r.origin)} holds no work-order record`));
    for (const p of readPushedRecords(r.parsed, r.records, r.origin.destination, openedAt)) {
      if ('event' in p) messages.push({ ...asMessage(row), payload: JSON.stringify(p.event) });
      else if ('invalid' in p) messages.push(kept(p.record, p.invalid, versionOf(p.index)));
      else messages.push(kept(r.records[p.index], `not taken as ${originText(r.origin)}: ${p.ignored}`));
    }
  }
  return { messages, passedOver };
}

/**
 * The work-order record an ERP pushed to a destination's webhook, or a poll of it listed, kept as
 * the ERP sent it as the webhook or the poll could not read it (source `erp-feedback:<destination>`,
 * a JSON object that is no canonical `workorder` event), and where it came from (its channel);
 * undefined for any other entry: a feedback event the webhook or a poll made (quarantined later: an
 * unknown asset, a late event), a body that was no JSON, or input from any other source.
 */
function pushedRecord(row: QuarantineRow): { origin: FeedbackOrigin; record: object } | undefined {
  const origin = feedbackOrigin(row.source, row.channel);
  // A whole body set aside before it was read (no JSON, not UTF-8, nested too deep) is no record.
  if (origin === undefined || row.code === 'undecodable' || typeof row.payload !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(row.payload);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || (value as { kind?: unknown }).kind === 'workorder') return undefined;
  return { origin, record: value };
}

function* slices(rows: readonly QuarantineRow[]): Generator<QuarantineRow[]> {
  for (let i = 0; i < rows.length; i += CHUNK) yield rows.slice(i, i + CHUNK);
}

/**
 * The open entries (of a code), read a chunk at a time with their payloads: an open quarantine can
 * hold a million entries. Those this replay opened (set aside again: they come after the ones read)
 * are passed over, so no message is replayed twice in one run.
 */
async function* openEntries(store: Store, code: { code?: QuarantineCode }, done: ReadonlySet<number>): AsyncGenerator<QuarantineRow[]> {
  let after = 0;
  for (;;) {
    const rows = await store.listQuarantine({ status: 'open', ...code, afterId: after, limit: CHUNK });
    const last = rows.at(-1);
    if (last === undefined) return;
    after = last.id;
    const part = rows.filter((r) => r.replayOf === undefined || !done.has(r.replayOf));
    if (part.length) yield part;
  }
}
