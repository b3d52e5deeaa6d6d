/** The simulated fleet: assets, their telemetry, a publisher, and config for ingesting it. */
export { BAD_MESSAGE_KINDS, createFleet, OVERHEAT_ABOVE_C, tagId, type BadMessageKind, type Fleet, type FleetCounts, type FleetMessage, type FleetOptions, type ReportedState } from './fleet.js';
export { FLEET_TOPIC_FILTER, fleetAssets, fleetAssetsCsv, fleetDecoderConfig, fleetMqttSourceConfig, type FleetAssetOptions } from './fleet-config.js';
export { runFleet, type FleetProgress, type FleetRunResult, type RunFleetOptions } from './run-fleet.js';
export { DEFAULT_ZONES, type Zone } from './zones.js';
