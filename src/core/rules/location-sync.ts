/**
 * Location sync (touchpoint 1): keep the ERP's location of record current, without a write per
 * GPS fix. A location update is produced when the zone changes, when the asset has moved more than
 * `minDistanceM` since the last synced position, or when `heartbeatMs` has passed since then.
 * Never from an event older than the newest position already seen (invariant 8).
 * @module
 */
import type { CanonicalEvent, PositionEvent } from '../model/events.js';
import { haversineM } from './geo.js';
import type { Rule, RuleContext, RuleResult } from './rule.js';

export interface LocationSyncOptions {
  /** Movement that triggers a sync, metres. @default 100 */
  readonly minDistanceM: number;
  /** Sync at least this often while an asset reports, ms. @default 1 hour */
  readonly heartbeatMs: number;
  /**
   * Resolves the zone of a position when zones are configured (issue 4); returns undefined when
   * none applies. Defaults to the zone the source reported.
   */
  readonly zoneOf?: (event: PositionEvent, previousZone: string | undefined) => string | undefined;
}

interface Fix {
  readonly lat: number;
  readonly lng: number;
  readonly zone?: string;
  readonly eventTime: number;
}

export interface LocationSyncState {
  /** Newest position seen (by event time). */
  readonly last?: Fix;
  /** Position last handed to the outbox. */
  readonly synced?: Fix;
}

export const LOCATION_UPDATE = 'location.update';

export function createLocationSyncRule(options: LocationSyncOptions): Rule<LocationSyncState> {
  return {
    name: 'location',
    kinds: ['position'],
    apply(state, event, ctx) {
      return applyPosition(options, state ?? {}, event, ctx);
    },
  };
}

function applyPosition(
  options: LocationSyncOptions,
  state: LocationSyncState,
  event: CanonicalEvent,
  ctx: RuleContext,
): RuleResult<LocationSyncState> {
  if (event.kind !== 'position') return { state, deliveries: [] };
  // Late or duplicate: the stored state is newer, so this event cannot change the ERP's view.
  if (state.last && event.eventTime <= state.last.eventTime) return { state, deliveries: [] };

  const zone = options.zoneOf ? options.zoneOf(event, state.last?.zone) : event.zone;
  const fix: Fix = { lat: event.lat, lng: event.lng, eventTime: event.eventTime, ...(zone !== undefined ? { zone } : {}) };
  const synced = state.synced;
  const due =
    synced === undefined ||
    synced.zone !== fix.zone ||
    haversineM(synced, fix) > options.minDistanceM ||
    fix.eventTime - synced.eventTime >= options.heartbeatMs;

  if (!due) return { state: { ...state, last: fix }, deliveries: [] };
  return {
    state: { last: fix, synced: fix },
    deliveries: [
      {
        destination: ctx.destination,
        operation: LOCATION_UPDATE,
        kind: 'state',
        businessKey: ctx.asset.erpAssetId,
        erpAssetId: ctx.asset.erpAssetId,
        eventTime: fix.eventTime,
        payload: {
          erpAssetId: ctx.asset.erpAssetId,
          erpModule: ctx.asset.erpModule,
          warehouseLocation: fix.zone ?? null,
          coordinates: { lat: fix.lat, lng: fix.lng },
          lastSeen: new Date(fix.eventTime).toISOString(),
        },
      },
    ],
  };
}
