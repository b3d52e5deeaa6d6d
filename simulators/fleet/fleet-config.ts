/**
 * What the demo needs to ingest the simulated fleet: the decoder config for its payload, an MQTT
 * source config, and its assets for the identity registry (inline entries or CSV).
 * @module
 */
import type { z } from 'zod';
import type { assetSchema, JsonDecoderConfig, mqttSourceSchema } from '../../src/config/schema.js';
import type { Fleet } from './fleet.js';

/** The topic filter the fleet publishes under. */
export const FLEET_TOPIC_FILTER = 'fleet/+/telemetry';

/** How the fleet's payload maps to canonical events: position + zone, two sensors, engine hours. */
export const fleetDecoderConfig: JsonDecoderConfig = {
  assetId: { path: 'tagId' },
  idType: 'tag',
  time: { path: 'ts', format: 'iso' },
  lat: 'pos.lat',
  lng: 'pos.lng',
  zone: 'zone',
  sensors: {
    engineTempC: { path: 'sensors.engineTempC', unit: 'Cel' },
    batteryV: { path: 'sensors.batteryV', unit: 'V' },
  },
  meters: { operatingHours: 'hours' },
};

/**
 * An MQTT source config (schema input) for the fleet. `protocolVersion` defaults to 4 here because
 * the demo's embedded broker (aedes) speaks MQTT 3.1.1 only; use 5 with Mosquitto.
 */
export function fleetMqttSourceConfig(url: string, overrides: Partial<z.input<typeof mqttSourceSchema>> = {}): z.input<typeof mqttSourceSchema> {
  return { name: 'fleet', url, clientId: 'assetbridge-fleet', protocolVersion: 4, topics: [{ filter: FLEET_TOPIC_FILTER, decoder: fleetDecoderConfig }], ...overrides };
}

export interface FleetAssetOptions {
  /** ERP asset id for a tag. @default `EQ-<number>`: tag-0001 → EQ-0001 */
  readonly erpAssetId?: (tagId: string, index: number) => string;
  /** @default fixed-assets */
  readonly erpModule?: string;
}

const MODELS = ['Excavator 20t', 'Wheel loader', 'Telehandler', 'Reach stacker', 'Mobile crane', 'Forklift 5t', 'Generator 100 kVA'] as const;

/** The fleet's assets as inline `assets.inline` entries (schema input). */
export function fleetAssets(fleet: Pick<Fleet, 'tagIds'>, options: FleetAssetOptions = {}): z.input<typeof assetSchema>[] {
  const erpId = options.erpAssetId ?? ((tag: string) => tag.replace(/^tag-/, 'EQ-'));
  return fleet.tagIds.map((tag, i) => ({
    erpAssetId: erpId(tag, i),
    erpModule: options.erpModule ?? 'fixed-assets',
    identifiers: [{ type: 'tag' as const, value: tag }],
    attributes: { model: MODELS[i % MODELS.length] as string },
  }));
}

/** The same assets as an identity-registry CSV (`identifier,id_type,erp_asset_id,erp_module,model`). */
export function fleetAssetsCsv(fleet: Pick<Fleet, 'tagIds'>, options: FleetAssetOptions = {}): string {
  const lines = ['identifier,id_type,erp_asset_id,erp_module,model'];
  for (const a of fleetAssets(fleet, options)) lines.push([a.identifiers[0]?.value, 'tag', a.erpAssetId, a.erpModule, a.attributes?.model].map((v) => csvField(v ?? '')).join(','));
  return `${lines.join('\n')}\n`;
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
