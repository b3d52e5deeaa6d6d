import type { Command } from 'commander';
import { NotFoundError } from '../../core/errors/errors.js';
import { action, isoTime, addConfigOption, checkDestination, clip, noneFound, parseIds, parseLimit, parseSince, table, withContext, toJson } from '../context.js';
import { resolveAssetArg } from './asset-name.js';

/**
 * A failed attempt's error in the table: the only word on one that got no answer (a refused
 * connection, a timeout: STATUS '-'), cut at 100 characters with an ellipsis ('--json' has it whole).
 */
export function errorCell(error: string | undefined): string {
  return error === undefined ? '' : clip(error);
}

export function registerAuditCommand(program: Command): void {
  addConfigOption(
    program
      .command('audit')
      .description('the audit trail: every attempt to write to an ERP, with request, response, latency and outcome')
      .option('--asset <asset>', 'only this asset: its ERP asset id, or any identifier of it (tag, PIN, ...)')
      .option('--destination <name>', 'only this destination')
      .option('--delivery <id>', 'only this delivery')
      .option('--since <when>', 'from this long ago (1h, 30m, 2d) or this date (default: 24h; with --delivery: all of its attempts)')
      .option('--limit <n>', 'at most this many, newest', '200')
      .option('--json', 'print JSON lines with request and response bodies')
      .addHelpText('after', '\nExample:\n  assetbridge audit --asset 10004711 --since 1h --json'),
  ).action(
    action(async (opts: { config: string; asset?: string; destination?: string; delivery?: string; since?: string; limit: string; json?: boolean }) => {
      // One delivery's history is wanted whole (`dlq show` names the id of one that failed days ago).
      const since = opts.since !== undefined ? parseSince(opts.since) : opts.delivery !== undefined ? 0 : parseSince('24h');
      const limit = parseLimit(opts.limit);
      const [deliveryId] = opts.delivery === undefined ? [] : parseIds([opts.delivery], 'delivery');
      await withContext(opts.config, async ({ config, store }) => {
        // Named by its ERP id or any identifier the registry maps to it; a name the registry does
        // not have is taken as an ERP id (the attempts of an asset since removed are kept).
        const asset = opts.asset === undefined ? undefined : ((await resolveAssetArg(store, opts.asset)) ?? opts.asset);
        // One more than asked: whether older attempts were left out (the newest are shown), so none go unseen.
        const rows = await store.queryAudit({
          since,
          limit: limit + 1,
          ...(asset ? { erpAssetId: asset } : {}),
          ...(opts.destination ? { destination: opts.destination } : {}),
          ...(deliveryId !== undefined ? { deliveryId } : {}),
        });
        if (rows.length > limit) {
          rows.shift(); // oldest first: the one past the limit is the oldest
          process.stderr.write(`more attempts than the ${limit} shown (the newest): --limit <n> to see more, --since, --asset, --destination or --delivery to narrow\n`);
        }
        if (!rows.length) {
          // A typo in a name reads like a quiet asset or destination, in JSON as in the table: say so, as the other commands do.
          if (opts.destination !== undefined) checkDestination(config, opts.destination);
          if (asset !== undefined && !(await store.listAssets()).some((a) => a.asset.erpAssetId === asset))
            throw new NotFoundError(`no asset "${asset}" in the registry (no ERP asset id or identifier of any asset), and no attempts for it; see 'assetbridge assets list'`);
        }
        if (opts.json) {
          for (const r of rows) process.stdout.write(`${toJson(r, 0)}\n`);
          return;
        }
        if (!rows.length) {
          // Without --since a delivery has no window: say whether it exists (its audit may outlive it).
          if (deliveryId !== undefined && opts.since === undefined) {
            const d = await store.getDelivery(deliveryId);
            if (!d) return noneFound(`no delivery ${deliveryId}, and no attempts for it; 'assetbridge dlq list' and 'assetbridge audit --json' show delivery ids`);
            const why = d.status === 'pending' ? 'yet (pending)' : `(${d.status}; audit records older than store.retention.audit are pruned)`;
            return void process.stdout.write(`no attempts for delivery ${deliveryId} ${why}\n`);
          }
          // Say which window: without --since it is the last day, which a first look does not know.
          const window = opts.since === undefined ? "in the last 24h (--since 7d, say, looks further back)" : `since ${isoTime(since)} (--since ${opts.since})`;
          return void process.stdout.write(`no attempts ${window}\n`);
        }
        process.stdout.write(
          table([
            ['TIME', 'DESTINATION', 'OPERATION', 'ASSET', 'TRY', 'STATUS', 'MS', 'OUTCOME', 'REQUEST', 'ERROR'],
            ...rows.map((r) => [isoTime(r.at), r.destination, r.operation, r.erpAssetId, r.attempt, r.status ?? '-', r.latencyMs, r.outcome, `${r.method ?? ''} ${r.url ?? ''}`.trim(), errorCell(r.error)]),
          ]),
        );
      }, { readOnly: true });
    }),
  );
}
