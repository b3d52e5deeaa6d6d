/**
 * Replaying quarantined messages through the pipeline once their cause is fixed (a mapping added,
 * a decoder corrected). The original bytes go through decode → validate → identify → rules again;
 * a message that fails again is quarantined anew with its current reason, so nothing is lost.
 * @module
 */
import type { QuarantineCode } from '../core/model/messages.js';
import type { IngestSink } from '../ports/source.js';
import type { QuarantineRow, Store } from '../ports/store.js';
import { keptOnlyPrefix } from './too-large.js';

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
): Promise<ReplaySummary> {
  // Two replays at once (two CLI requests to one service) would both read the same open entries.
  const next = (running.get(store) ?? Promise.resolve()).catch(() => undefined).then(() => replayOpen(store, sink, filter, onProgress, signal));
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
  for await (const all of named ? slices(named) : openEntries(store, code, done)) {
    if (signal?.aborted) {
      interrupted = true;
      break;
    }
    // A page a telematics pull could not read is no message: run through a decoder it would only be set aside again.
    // Nor is the start of a too-large payload, all its entry keeps: run again it would be set aside as something else.
    const part = all.filter((r) => (r.code !== 'unreadable-page' || (pages.push(r.id), false)) && (!keptOnlyPrefix(r) || (prefixes.push(r.id), false)));
    if (part.length === 0) continue;
    // The old rows are done either way (accepted, or quarantined again as a new row): each closes in
    // the transaction that stores its message's new outcome (`replayOf`), so a crash in between
    // cannot leave it open to be replayed a second time.
    const result = await sink.submit(part.map((r) => ({ source: r.source, channel: r.channel, payload: r.payload, receivedAt: r.receivedAt, replayOf: r.id })));
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
    ...(interrupted ? { interrupted: { total } } : {}),
  };
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
