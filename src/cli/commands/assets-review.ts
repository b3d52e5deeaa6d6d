/**
 * `assetbridge assets unmatched` and `assetbridge assets confirm`: the review list of telematics
 * equipment that matched no ERP asset, or whose identifiers point at two different assets. Such
 * equipment is never linked silently; a person confirms the match here, which adds the machine's
 * free identifiers to the asset, remembers the match for later pulls, and (when no service is
 * running) feeds the machine's last pulled data through the pipeline.
 * @module
 */
import type { Command } from 'commander';
import { confirmReview, listReview, loadConfirmed, reviewId, type ConfirmResult, type ReviewEntry } from '../../adapters/telematics/aemp/review-list.js';
import { EquipmentMatcher } from '../../core/telematics/equipment-match.js';
import { logLevel } from '../../adapters/log/logger.js';
import { bumpIdentityGeneration, createApp, type App, configLogger } from '../../app.js';
import type { IngestSink } from '../../ports/source.js';
import type { Store } from '../../ports/store.js';
import { action, isoTime, addConfigOption, resolveConfig, table, withContext, toJson } from '../context.js';
import { serviceIsRunning } from './quarantine.js';
import { replayLeftIngestLog } from './submit-event.js';
import { telematicsConfigs } from './aemp.js';
import { reportIdentityReload } from './assets.js';
import { NotFoundError } from '../../core/errors/errors.js';

function describeMachine(e: ReviewEntry): string {
  const h = e.header;
  return [h.oemName, h.model, h.equipmentId ? `"${h.equipmentId}"` : undefined].filter((x) => x !== undefined && x !== '').join(' ') || '(no name)';
}

/** The identifiers people match by (the ID column already shows the key). */
function shownIdentifiers(e: ReviewEntry): string {
  const pin = e.ids.find((i) => i.type === 'pin' || i.type === 'vin');
  const shown = e.ids.filter((i) => ['pin', 'vin', 'serial', 'external-ref', 'device-serial'].includes(i.type) && !(i.type === 'serial' && i.value === pin?.value));
  return shown.map((i) => `${i.type}=${i.value}`).join(' ') || '(none)';
}

/** The review list as a table (or JSON). */
export async function unmatchedCommand(
  deps: { store: Pick<Store, 'kvList'> & Partial<Pick<Store, 'listAssets'>>; out: (t: string) => void; providers?: readonly string[] },
  opts: { all?: boolean; provider?: string; json?: boolean },
): Promise<number> {
  const entries = await listReview(deps.store, { ...(opts.all ? { all: true } : {}), ...(opts.provider !== undefined ? { provider: opts.provider } : {}) });
  // The list is as of each machine's last pull: one an import has given an asset since stays on it
  // (its data waiting) until the next pull, perhaps a day away. Say so, rather than "unmatched".
  const matchesNow = new Map<ReviewEntry, string>();
  if (deps.store.listAssets && entries.some((e) => e.status !== 'resolved')) {
    const assets = await deps.store.listAssets();
    const matchers = new Map<string, EquipmentMatcher>();
    for (const e of entries.filter((x) => x.status !== 'resolved')) {
      let matcher = matchers.get(e.provider);
      if (!matcher) matchers.set(e.provider, (matcher = new EquipmentMatcher(assets, await loadConfirmed(deps.store, e.provider))));
      const m = matcher.match(e.key, e.ids);
      if (m.status === 'matched') matchesNow.set(e, m.erpAssetId);
    }
  }
  // A typo in the name would read as "every machine matched" (a provider removed from the config may still have entries).
  if (!entries.length && opts.provider !== undefined && deps.providers && !deps.providers.includes(opts.provider)) {
    throw new NotFoundError(`no telematics provider named "${opts.provider}"; configured: ${deps.providers.join(', ') || '(none)'}`);
  }
  if (opts.json) {
    deps.out(`${toJson(entries.map((e) => ({ id: reviewId(e.provider, e.key), ...e, ...(matchesNow.has(e) ? { matchesNow: matchesNow.get(e) } : {}), message: { ...e.message, payload: undefined } })))}\n`);
    return 0;
  }
  if (!entries.length) {
    // Without a provider nothing was pulled: "every pulled machine matched" would mislead.
    const why = deps.providers?.length === 0 ? 'no telematics provider is configured (add one under "telematics:" to pull machines)' : 'every pulled machine matched one ERP asset';
    deps.out(opts.all ? 'the review list is empty\n' : `no equipment waits for review: ${why}\n`);
    return 0;
  }
  deps.out(
    table([
      ['ID', 'STATUS', 'MACHINE', 'IDENTIFIERS', 'CANDIDATES', 'LAST SEEN', 'SEEN'],
      ...entries.map((e) => [
        reviewId(e.provider, e.key),
        e.status === 'resolved' ? `resolved → ${e.resolution?.erpAssetId ?? '?'}` : matchesNow.has(e) ? `${e.status}, matches ${matchesNow.get(e) ?? '?'} now` : e.status,
        describeMachine(e),
        shownIdentifiers(e),
        e.candidates.map((c) => `${c.erpAssetId} (${c.via.map((v) => v.type).join('+')})`).join(', ') || '-',
        isoTime(e.lastSeenAt),
        e.seenCount,
      ]),
    ]),
  );
  const open = entries.filter((e) => e.status !== 'resolved').length;
  if (open) deps.out(`\nconfirm a match with: assetbridge assets confirm <ID> <erp-asset-id>  (the ID may also be the machine's PIN or serial)\n`);
  if (matchesNow.size) {
    deps.out(`${matchesNow.size} of them match an ERP asset since the pull that listed them: the next pull brings their data and takes them off this list; 'assets confirm' brings it now\n`);
  }
  return 0;
}

/** Confirm one match; returns what changed. */
export async function confirmCommand(
  deps: { store: Pick<Store, 'kvGet' | 'kvSet' | 'kvList' | 'listAssets' | 'upsertAssets'>; sink?: IngestSink; out: (t: string) => void; now: number },
  id: string,
  erpAssetId: string,
  opts: { force?: boolean } = {},
): Promise<ConfirmResult> {
  const result = await confirmReview({ store: deps.store, ...(deps.sink ? { sink: deps.sink } : {}), now: deps.now }, id, erpAssetId, opts);
  const lines = [`${reviewId(result.entry.provider, result.entry.key)} is now ERP asset ${erpAssetId}`];
  if (result.addedIdentifiers.length) lines.push(`  added to the asset: ${result.addedIdentifiers.map((i) => `${i.type}=${i.value}`).join(', ')}`);
  if (result.conflicting.length) lines.push(`  left out (they belong to other assets): ${result.conflicting.map((i) => `${i.type}=${i.value}`).join(', ')}`);
  if (result.submitted) lines.push(`  its last pulled data went through the pipeline: ${result.submitted.accepted} accepted, ${result.submitted.quarantined.length} quarantined`);
  else lines.push('  its data arrives with the next pull');
  deps.out(`${lines.join('\n')}\n`);
  return result;
}

/** Register `assets unmatched` and `assets confirm` under `assets` (created when absent). */
export function registerAssetReviewCommands(program: Command): Command {
  const assets = program.commands.find((c) => c.name() === 'assets') ?? program.command('assets').description('the identity registry: tracking identifiers → ERP assets');

  addConfigOption(
    assets
      .command('unmatched')
      .description('telematics equipment waiting for review: no ERP asset matched, or its identifiers point at two assets')
      .option('--all', 'include resolved entries')
      .option('--provider <name>', 'only this telematics provider')
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExamples:\n  assetbridge assets unmatched\n  assetbridge assets unmatched --provider trackunit --all'),
  ).action(
    action(async (opts: { config: string; all?: boolean; provider?: string; json?: boolean }) => {
      await withContext(
        opts.config,
        async ({ config, store }) => {
          process.exitCode = await unmatchedCommand({ store, out: (t) => void process.stdout.write(t), providers: telematicsConfigs(config).map((t) => t.name) }, opts);
        },
        { readOnly: true },
      );
    }),
  );

  addConfigOption(
    assets
      .command('confirm <id> <erp-asset-id>')
      .description('confirm that a reviewed machine is this ERP asset (ID from "assets unmatched", or the machine\'s PIN/serial)')
      .option('--force', 'confirm it even when another machine of the feed already matched or was confirmed as that asset')
      .addHelpText('after', "\nExamples (quote an ID with |, or the shell reads a pipe):\n  assetbridge assets confirm 'trackunit|machine-id:7F3C2A90-1B5E-4D2A-9C61-0E8D4B7A5F12' 10004711\n  assetbridge assets confirm VCEC220EP00312874 10004711"),
  ).action(
    action(async (id: string, erpAssetId: string, opts: { config: string; force?: boolean }) => {
      const { config, configPath } = resolveConfig(opts.config);
      const out = (t: string): void => void process.stdout.write(t);
      // Only a store that has pulled machines has review entries: a wrong --config is said, not answered from a new empty store.
      await replayLeftIngestLog(config, configPath, 'assetbridge assets confirm', undefined, { existingStore: true });
      let app: App | undefined;
      try {
        await withContext(opts.config, async ({ store }) => {
          // A running service owns the pipeline: confirm, let it reload identity; its next pull brings the data.
          const running = await serviceIsRunning(store);
          // Otherwise feed the machine's last data through a pipeline opened after the registry
          // changed, so its identity index already knows the confirmed identifiers.
          const sink: IngestSink | undefined = running
            ? undefined
            : {
                submit: async (messages) => {
                  app ??= await createApp(config, { sources: false, http: false, deliver: false, logger: configLogger(config, logLevel('warn')), command: 'assetbridge assets confirm' });
                  const result = await app.ingestor.submit(messages);
                  await app.ingestor.flush();
                  return result;
                },
              };
          await confirmCommand({ store, ...(sink ? { sink } : {}), out, now: Date.now() }, id, erpAssetId, opts.force ? { force: true } : {});
          const gen = await bumpIdentityGeneration(store);
          if (running) await reportIdentityReload(store, gen, out);
        }, { existingStore: true });
      } finally {
        await app?.close();
      }
    }),
  );
  return assets;
}
