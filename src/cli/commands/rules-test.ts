/**
 * `rules test`: a stream of canonical JSON events through validation, identity and the rules, as
 * the engine folds them but with no store or outbox around them; with `--compare` through a second
 * rule set too, and with `--trace` one asset's rule state changes line by line. Also the text it
 * prints. The command itself (files, progress, options) is in rules.ts.
 * @module
 */
import { createHash } from 'node:crypto';
import { NotFoundError } from '../../core/errors/errors.js';
import { IdentityIndex } from '../../core/identity/resolver.js';
import type { AssetRecord } from '../../core/model/assets.js';
import type { DeliveryIntent } from '../../core/model/delivery.js';
import { createCanonicalDecoder } from '../../core/normalize/canonical-decoder.js';
import { NOT_JSON } from '../../core/normalize/decoder.js';
import { itemPayload, jsonItems } from '../../core/normalize/json-items.js';
import { jsonErrorWhere } from '../../core/json-text.js';
import { parseIsoTime } from '../../core/normalize/iso-time.js';
import { DEFAULT_VALIDATION, validateEvent, type ValidationPolicy } from '../../core/normalize/validate.js';
import { alignSensorUnits, type SensorUnits } from '../../core/normalize/sensor-units.js';
import type { CanonicalEvent } from '../../core/model/events.js';
import { compareTallies, differingFields, emptyTally, stableJson, tallyDeliveries, type DeliveryComparison } from '../../core/rules/compare.js';
import type { Rule } from '../../core/rules/rule.js';
import { ruleOfDelivery } from '../../core/rules/rule-of-delivery.js';
import { countInventory, withCurrentZoneCode, type InventoryCountOptions } from '../../core/rules/inventory/counts.js';
import type { ZoneIndex } from '../../core/rules/zones/zone-index.js';
import { INVENTORY_RULE, isInventoryItem, type InventoryItemState } from '../../core/rules/inventory/inventory-rule.js';
import { flushRules, IdleWatermarks, simulateRules, type SimulatedWatermark, type SimulationStep, type StateDoc } from '../../core/rules/simulate.js';
import { duplicateFloor, heldEvents, stateChanges } from '../../core/rules/trace.js';
import { advisesReplacement, flagMeter, lastReplacementAt, METER_RECORD, METER_RULE, meterHygieneNote, newMeterFlags, type MeterFlag, type MeterSyncState } from '../../core/rules/meter-sync.js';
import { adviceFor, declareReplacementAdvice } from '../../core/rules/meter-hygiene.js';
import { METER_HELD_HOURS, METER_HELD_KM, METER_SET_ASIDE_HOURS, METER_SET_ASIDE_KM } from '../../core/rules/owned.js';
import { faultText } from '../../core/rules/maintenance/alert.js';
import { closedWhenRaised, formatDuration, MAINTENANCE_RULE, type ClosedWhenRaised, type MaintenanceState } from '../../core/rules/maintenance/maintenance-rule.js';
import type { AlertRule, ThresholdRule } from '../../core/rules/maintenance/types.js';
import { unseenThresholdSensors, type ThresholdSensor, type UnseenSensor } from '../../core/rules/maintenance/unseen-sensors.js';
import { calendarForSite, type WindowCalendar } from '../../core/rules/maintenance/windows.js';
import { localDate, zonedParts } from '../../core/rules/time-zone.js';
import { DEPRECIATION_RULE, fileHeldUsage, type UsageState } from '../../core/rules/depreciation/usage-rule.js';
import type { PeriodCalendar } from '../../core/rules/depreciation/calendar.js';
import { formatAmount, roundUnits } from '../../core/rules/depreciation/usage.js';
import { coalesceStates } from '../../engine/ingestor.js';
import { tooLarge } from '../../engine/too-large.js';
import type { AssetWithIdentifiers } from '../../ports/store.js';
import { table, toJson } from '../context.js';
import { resolveAssetName } from './asset-name.js';
import { WORKORDER_UPDATE } from '../../core/rules/maintenance/work-order.js';

/** In a stream of lines: the lines after it are those of this file (numbered from 1 again). */
export interface FileStart {
  readonly file: string;
}

export interface RulesTestInput {
  /**
   * JSONL lines: one canonical event (or an array of them, each item its own message, as `POST
   * /v1/events` takes an array) per line; blank lines and `#` comments skipped. Several files in one stream are told apart by a {@link FileStart} before each.
   */
  readonly lines: Iterable<string | FileStart> | AsyncIterable<string | FileStart>;
  readonly rules: readonly Rule[];
  readonly assets: readonly AssetWithIdentifiers[];
  readonly defaultDestination: string;
  /** Stored state documents by asset, to start from; empty for `--fresh`. */
  readonly states: ReadonlyMap<string, StateDoc>;
  /** Decide on events still held for the allowed lateness at the end. @default true */
  readonly flush?: boolean;
  /**
   * Silence after which the service sends an asset an idle watermark (`rules.idleAfter`, at least
   * the allowed lateness; 0 where it sends none). Lines that say when their event was received
   * (the capture's `receivedAt`) then get the watermarks the service sent between them.
   */
  readonly idleMs?: number;
  /** The same for the {@link compare} rule set's config. @default idleMs */
  readonly compareIdleMs?: number;
  /** Names of the configured zones, which a zone sighting (a zone and no lat/lng) must name; absent: none. */
  readonly zoneNames?: ReadonlySet<string>;
  /**
   * The same for the {@link compare} rule set's config (empty: none). A line either config accepts
   * is accepted, and each runs it only if it does (a reader zone added in the proposed config).
   * @default zoneNames
   */
  readonly compareZoneNames?: ReadonlySet<string>;
  /** The unit each sensor's threshold rules compare in: a reading in another, of an asset such a rule applies to, is converted, or rejected when it does not convert (as the service does). */
  readonly sensorUnits?: SensorUnits;
  /** The same for the {@link compare} rule set's config (absent: none). */
  readonly compareSensorUnits?: SensorUnits;
  /** The time of the run: what the end of an input with no event time is decided at. The rules see each event processed when it was received (captured lines) or happened. @default now */
  readonly now?: number;
  /**
   * How far in the future an event time may be (`ingest.maxFutureSkewMs`): an event further ahead of
   * the time its line says it was received (the capture's `receivedAt`) is rejected, as the service
   * quarantines it. A line that does not say is taken as received when it happened, so it is never
   * ahead (a scenario dated after the command runs is tried, not refused). @default 5 minutes, the service's default
   */
  readonly maxFutureSkewMs?: number;
  /**
   * How old an event may be when it is received (`ingest.maxAgeMs`; 0: no limit): an event older
   * than this at the time its line says it was received (the capture's `receivedAt`) is rejected,
   * as the service quarantines it as stale. A line that does not say is not judged (a dry run is
   * of past events, taken when fresh). @default 0, the service's default
   */
  readonly maxAgeMs?: number;
  /**
   * The largest message the service takes (`ingest.maxPayloadBytes`): a longer line is rejected
   * unparsed, with the reason the service quarantines it under as `too-large`. @default 1 MiB, the service's default
   */
  readonly maxPayloadBytes?: number;
  /**
   * Keep only the lines that deliver, were rejected, had an event dropped as late or a meter
   * reading set aside or held by meter hygiene (`--brief`); the others are counted. For long
   * inputs, whose quiet lines would fill memory and the screen.
   */
  readonly brief?: boolean;
  /**
   * The configured rules that make deliveries, with what kind of rule each is (`threshold`, `service
   * interval`, …), in the order `rules list` lists them: each has its entry in
   * {@link RulesTestReport.byRule}, also when it delivered nothing (a threshold that never fired).
   * Absent: only the rules that delivered, without their kind.
   */
  readonly deliveringRules?: readonly DeliveringRule[];
  /**
   * The same for the {@link compare} rule set's config: with {@link deliveringRules}, the
   * comparison by rule ({@link DeliveryComparison.byRule}) has every rule of either config, each
   * rule only one of them has marked added or removed.
   */
  readonly compareDeliveringRules?: readonly DeliveringRule[];
  /**
   * With {@link compare}: the sections of `rules` outside the delivering rules whose settings differ
   * between the two configs (`rules.zones`, `rules.inventory`, …), said in the comparison
   * ({@link RulesComparison.changedSections}) whether or not the deliveries differ.
   */
  readonly changedSections?: readonly string[];
  /** Called after each chunk of lines is decided, with the number of input lines read so far. */
  readonly onProgress?: (linesRead: number) => void;
  /**
   * The inventory count options (`rules.inventory`), when inventory is configured: the report then
   * has the counts the inventory task would make from the state the events leave.
   */
  readonly inventory?: InventoryAtEndOptions;
  /** The same for the {@link compare} rule set's config. */
  readonly compareInventory?: InventoryAtEndOptions;
  /**
   * The configured depreciation calendar (`rules.depreciation`): the usage read while an asset is
   * held by a calendar change is shown as a re-file would file it under it ({@link RulesTestReport.heldUsage}).
   * Absent: that usage is not shown.
   */
  readonly usageCalendar?: PeriodCalendar;
  /** The same for the {@link compare} rule set's config. */
  readonly compareUsageCalendar?: PeriodCalendar;
  /**
   * A second rule set (`--compare`): the same events, assets and starting state run through it as
   * well, and the report says how its deliveries differ from those of `rules`.
   */
  readonly compare?: readonly Rule[];
  /** An asset (ERP id or any of its identifiers) whose rule state changes each line shows (`--trace`). */
  readonly trace?: string;
  /** The configured zones: with `--trace`, each fix of the asset says which zones it is inside and in the hysteresis band of. */
  readonly traceZones?: ZoneIndex;
  /** The configured threshold rules: with `--trace`, a breach a gap between samples broke says so, with the gap and maxGap. */
  readonly traceThresholds?: readonly ThresholdRule[];
  /**
   * The configured alert rules: a critical fault report that raises no work order because the ERP
   * had reported it completed or cancelled by then says so on its line ({@link RulesTestLine.notRaised}).
   */
  readonly alertRules?: readonly AlertRule[];
  /**
   * The configured threshold rules and the sensor each watches: those whose sensor no event of the
   * input carried are listed at the end ({@link RulesTestReport.unseenSensors}), as not tried at all.
   */
  readonly thresholdSensors?: readonly ThresholdSensor[];
  /** The same for the {@link compare} rule set's config ({@link RulesTestReport.compareUnseenSensors}). */
  readonly compareThresholdSensors?: readonly ThresholdSensor[];
  /**
   * Hand each line to be shown here as soon as it is decided, instead of keeping it in the report
   * (a long input then takes no more memory than its rule state).
   */
  readonly onLine?: (line: RulesTestLine) => void;
  /**
   * With {@link onLine}: when the input has been silent this long (ms) with lines read but not yet
   * decided (a slow producer, a `tail -f`, events typed in), decide them now rather than when a chunk
   * of lines is full or the input ends, so what they deliver is handed over while the input is still
   * open; {@link onProgress} is called after. The outcome is the same as deciding them later: the
   * rules run on the same events, in order. Absent: lines are decided a chunk at a time.
   */
  readonly decideAfterPauseMs?: number;
}

/** A configured rule that makes deliveries: its name (a work order's business key holds it) and what kind of rule it is. */
export interface DeliveringRule {
  readonly name: string;
  /** `location sync`, `threshold`, `service interval`, `calendar interval`, `alert`, `meter sync`. */
  readonly type: string;
  /** Its validated config entry, with the config's key names: with `--compare`, the settings a rule both configs have changed are named ({@link DeliveryComparison.changedRules}). */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/** How two rule sets' deliveries differ, and which settings of the rules outside the delivering rules. */
export interface RulesComparison extends DeliveryComparison {
  /** The sections of `rules` other than the delivering rules' entries whose settings differ ({@link RulesTestInput.changedSections}); absent: none. */
  readonly changedSections?: readonly string[];
}

/** What one rule would deliver: how many deliveries in all, and by operation and kind (as {@link RulesTestReport.totals}). */
export interface RuleTotals {
  /** The kind of rule, when the configured rules were given ({@link RulesTestInput.deliveringRules}). */
  readonly type?: string;
  readonly total: number;
  readonly deliveries: Readonly<Record<string, number>>;
}

export { ruleOfDelivery };

export interface RulesTestLine {
  readonly line: number;
  /** The file the line is in, when the input is several files. */
  readonly file?: string;
  /** For a line holding a JSON array: the item's index in it (from 0), each item being its own message, as `POST /v1/events` takes them. */
  readonly item?: number;
  readonly accepted: boolean;
  readonly reason?: string;
  readonly events: readonly { kind: string; erpAssetId: string; eventTime: string }[];
  readonly deliveries: readonly DeliveryIntent[];
  /** Rules that dropped an event of this line as late (older than `rules.allowedLateness` allows). */
  readonly late?: readonly string[];
  /**
   * The rules dropped the line's events as duplicates (the same events sent again: a client's retry,
   * a device repeating itself; no delivery, not late): where they were first (`line 10`, `a.jsonl
   * line 10`), or `an earlier event` when that is not in the input (the stored state).
   */
  readonly duplicateOf?: string;
  /**
   * What meter hygiene did with the line's meter readings, when it held one or set one aside (a
   * meter going backwards, a jump, out of order): why the line delivers no meter reading. Without
   * the advice to declare a meter replacement, which a replacement declared later in the input
   * would contradict: {@link RulesTestReport.meterReplacementAdvice} says it at the end.
   */
  readonly meterHygiene?: readonly string[];
  /**
   * Why a critical fault report of the line raised no work order's priority: the ERP had reported
   * it completed or cancelled at or before the report's time (with {@link RulesTestInput.alertRules}).
   */
  readonly notRaised?: readonly string[];
  /**
   * The line says its message was sent again by its source (`"redelivered": true`, as the capture
   * writes it for an MQTT redelivery): its rules ran as the service's did on it, taking an older
   * event as one already decided (not late) and not flagging an older meter reading again.
   */
  readonly redelivered?: true;
  /** With `--trace`: what the line's events changed in the traced asset's rule state, and what its rules hold. */
  readonly trace?: readonly string[];
  /** Idle watermarks the service sent before this line arrived (silent assets), with what they delivered. */
  readonly idle?: readonly {
    readonly erpAssetId: string;
    readonly silentSince: string;
    readonly at: string;
    readonly deliveries: readonly DeliveryIntent[];
    /** A rule threw on the watermark: why (the service quarantines it; the asset's held events stay undecided). */
    readonly failed?: string;
  }[];
}

export interface RulesTestReport {
  /** Every event line, or with `brief` only those that deliver, were rejected, were late or had a meter reading set aside or held (none with `compare`). */
  readonly lines: readonly RulesTestLine[];
  /** Deliveries decided at the end of the input (events held for the allowed lateness; zone dwell under way, as for a silent asset). */
  readonly flushed: readonly DeliveryIntent[];
  /** Deliveries by operation and kind. */
  readonly totals: Readonly<Record<string, number>>;
  /**
   * The same deliveries by the rule that decided them ({@link ruleOfDelivery}): a threshold's work
   * orders under its name, location updates under `location`, meter readings under `meter`. With
   * {@link RulesTestInput.deliveringRules} every configured rule is there in their order, with its
   * kind, also when it delivered nothing; then any other rule that delivered.
   */
  readonly byRule: Readonly<Record<string, RuleTotals>>;
  /**
   * Event lines read (not blank, not comments); the messages they hold, when a line holds a JSON
   * array (each item is its own message, as `POST /v1/events` takes it; absent: one per line);
   * messages accepted and rejected; and how many of them were shown.
   * `late`: accepted messages a rule dropped as not newer than what it had decided on (with stored state: what the service decided).
   */
  readonly counts: { readonly lines: number; readonly messages?: number; readonly accepted: number; readonly rejected: number; readonly shown: number; readonly late: number };
  /**
   * When meter hygiene held readings or set held ones aside: how many, by meter, as the service
   * counts them (`assetbridge_meter_readings_held_total`, `…_set_aside_total`; not for a line marked
   * `redelivered`). With {@link RulesTestInput.compare}, the current rules'.
   */
  readonly meterReadings?: { readonly held: { readonly hours: number; readonly km: number }; readonly setAside: { readonly hours: number; readonly km: number } };
  /**
   * Readings meter hygiene set aside (shown on their lines) that a replaced meter or ECU would explain
   * and that no replacement declared later in the input answers (one declared after such a reading,
   * or between it and the reading it was judged against, as `assets meters` tells them): per asset
   * and meter, how many, the lines of the first and last, and the advice to declare the replacement
   * (the `assets reset-meter` command naming the asset). Said once at the end, not on the lines: a
   * line is written before the rest of the input is read. Absent: none.
   */
  readonly meterReplacementAdvice?: readonly MeterReplacementAdvice[];
  /** With {@link RulesTestInput.compare}: how the second rule set's deliveries differ. */
  readonly comparison?: RulesComparison;
  /**
   * With {@link RulesTestInput.compare}, when some accepted lines were rejected by one of the two
   * configs alone (the other ran them): how many, and the first with why. Counted as accepted.
   */
  readonly rejectedByOne?: { readonly current: OneSidedRejections; readonly proposed: OneSidedRejections };
  /** With `--trace`: the traced asset, and what deciding the end of the input changed in its state. */
  readonly traced?: { readonly erpAssetId: string; readonly atEnd: readonly string[] };
  /**
   * With {@link RulesTestInput.inventory}, when the events touched an inventory item: the counts
   * the inventory task would make at the end of the input. Counts are no delivery of an event
   * (the task makes them every `changesEvery`), so they are not in the lines or totals.
   */
  readonly inventory?: InventoryAtEnd;
  /** With `--compare`, when either config counts inventory and the events touched an item: the cells whose count differs. */
  readonly inventoryComparison?: InventoryComparison;
  /** With `--compare`, when either config has `rules.depreciation` and the events filed usage: the periods whose usage differs. */
  readonly usageComparison?: UsageComparison;
  /**
   * With `rules.depreciation`, when the events filed usage: the usage per fiscal period they leave,
   * per asset, in the periods they changed. Usage is no delivery of an event (the usage-posting task
   * posts a period once it has closed), so it is not in the lines or totals.
   */
  readonly usage?: readonly UsageAtEndRow[];
  /**
   * With `rules.depreciation` ({@link RulesTestInput.usageCalendar}), when the events were read for an
   * asset held by a calendar change (its periods filed under another calendar than the configured
   * one): their usage, which the rule keeps unfiled until the hold ends, per period as a re-file
   * (`depreciation refile`) would file it under the configured calendar, in the periods it changed
   * (rows marked `held`). Not in `usage`: it is filed in no period, and posted by nothing, yet.
   */
  readonly heldUsage?: readonly UsageAtEndRow[];
  /**
   * When no line was accepted and none was even JSON: what is likely wrong with the input as a whole
   * (a pretty-printed JSON file, a UTF-16 file), and what to do.
   */
  readonly inputHint?: string;
  /**
   * When lines were rejected because the registry here has no asset for their identifiers (the
   * service would quarantine them as unknown-asset): how many messages, and the identifiers they
   * named, distinct, in the order first seen (`tag tag-999`; at most {@link UNKNOWN_IDS_SHOWN}).
   */
  readonly unknownAssets?: { readonly messages: number; readonly distinct: number; readonly ids: readonly string[] };
  /**
   * When a rule threw (a bug) on a line, an idle watermark or an asset at the end of the input: how
   * often and where. `rules test` then exits 1. With {@link RulesTestInput.compare}, the current rules'.
   */
  readonly ruleFailures?: RuleFailures;
  /** With {@link RulesTestInput.compare}: the same for the second rule set. */
  readonly compareRuleFailures?: RuleFailures;
  /**
   * With {@link RulesTestInput.thresholdSensors}, when a line was accepted and a threshold rule's
   * sensor was carried by no event of the input (accepted or not): those rules, in their order, each
   * with the sensor name carried it is likely a slip of (`didYouMean`); and how many sensor names
   * the events did carry (0: no sensor reading at all). Such a rule was not tried: a misspelled
   * sensor, or a source mapping that does not map it.
   */
  readonly unseenSensors?: UnseenSensors;
  /** With {@link RulesTestInput.compare} and {@link RulesTestInput.compareThresholdSensors}: the same for the second rule set. */
  readonly compareUnseenSensors?: UnseenSensors;
}

/** Readings set aside that a replaced meter would explain, of one asset's meter (see {@link RulesTestReport.meterReplacementAdvice}). */
export interface MeterReplacementAdvice {
  readonly erpAssetId: string;
  /** `hours`: the hour meter; `km`: the odometer. */
  readonly meter: 'hours' | 'km';
  readonly readings: number;
  /** Where the first and the last of them are in the input (`line 3`, `a.jsonl:3`). */
  readonly first: string;
  readonly last: string;
  /** What to run if the meter or ECU was replaced. */
  readonly advice: string;
}

/** Threshold rules whose sensor no event of the input carried (see {@link RulesTestReport.unseenSensors}). */
export interface UnseenSensors {
  /** How many sensor names the events did carry (0: no sensor reading at all). */
  readonly sensorsCarried: number;
  readonly rules: readonly UnseenSensor[];
}

/**
 * Where the rules threw (a bug in a rule): the service quarantines the message or idle watermark
 * concerned, with the asset's state as before it, and goes on; so does `rules test`.
 */
export interface RuleFailures {
  /** Lines set aside (rejected) because a rule threw on one of their events. */
  lines: number;
  /** Idle watermarks between lines a rule threw on: the asset's held events stayed undecided. */
  watermarks: number;
  /** Assets whose end-of-input decision (as a watermark) a rule threw on: what they hold stays undecided, their state as before. */
  atEnd: { readonly erpAssetId: string; readonly reason: string }[];
  /** The first failure: where, and why. */
  first?: string;
}

/** Lines one config of `--compare` rejected and the other ran: how many, and the first (where, and why). */
export interface OneSidedRejections {
  lines: number;
  first?: string;
}

/** What {@link RulesTestReport.inputHint} says, by what the lines looked like. */
export const INPUT_HINTS = {
  utf16:
    'no line of the input is JSON: it reads as UTF-16 text (Windows PowerShell 5 writes files so with > and Out-File); save it as UTF-8 (Out-File -Encoding utf8, or iconv -f utf-16 -t utf-8) and run again',
  notJsonLines:
    "no line of the input is JSON: --events reads JSON Lines, one whole event (or a list of them) per line; a pretty-printed JSON file spreads each event over many lines: write one per line (jq -c '.[]' events.json > events.jsonl does it for a JSON array) and run again",
  csv: 'no line of the input is JSON: it reads as CSV (comma-separated columns, a spreadsheet export): --events reads JSON Lines, one canonical event per line, e.g. {"kind":"position","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","lat":51.95,"lng":4.05}: write each row as one (its columns as the event\'s fields: kind, assetId, eventTime and those of its kind) and run again',
  mqttTopic:
    "no line of the input is JSON: each starts with an MQTT topic before the JSON, as 'mosquitto_sub -v' prints what it receives: --events reads the JSON alone, one canonical event per line; subscribe without -v, or strip the topics (sed 's/^[^ ]* //' in.txt > events.jsonl), and run again (a device's payload is no canonical event: the sources' decoders are not applied; the capture (capture.dir) writes the events as the service decoded them)",
  notCanonical:
    'no line of the input is a canonical event (none has a "kind"): --events reads events as the capture writes them (capture.dir) and POST /v1/events takes them, e.g. {"kind":"position","assetId":"tag-1","eventTime":"2026-10-01T08:00:00Z","lat":51.95,"lng":4.05}, not payloads as devices send them over MQTT (the sources\' decoders are not applied); see docs/configuration.md, sources.http',
} as const;

/**
 * The decoder's reason for a line that is not JSON (where, {@link jsonErrorWhere}, in the text it
 * was given: the line trimmed) with the column in the line as read, leading blanks and all, as a
 * zone file's error says it (`column C:`; the line is the report's); other reasons as they are.
 */
export function notJsonReasonInLine(reason: string, line: string): string {
  const given = jsonErrorWhere(line.trim());
  const asRead = jsonErrorWhere(line);
  const prefix = `${NOT_JSON}${given}: `;
  if (given === undefined || asRead === undefined || !reason.startsWith(prefix)) return reason;
  return `${NOT_JSON}${asRead}: ${reason.slice(prefix.length)}`;
}

/**
 * The MQTT topic a line starts with before its JSON, as `mosquitto_sub -v` prints a message
 * (`site/tags/tag-1 {"kind":…}`), when the rest of the line is JSON; else undefined.
 */
export function mqttTopicPrefix(text: string): string | undefined {
  const m = /^([^\s{["]+)[ \t]+([[{].*)$/s.exec(text);
  if (!m) return undefined;
  try {
    JSON.parse(m[2] as string);
  } catch {
    return undefined;
  }
  return m[1];
}

/** Whether a line is JSON objects (one, or a list) none of which has a `kind`: a device's payload rather than a canonical event. */
function withoutKind(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  const items: unknown[] = Array.isArray(value) ? value : [value];
  return items.length > 0 && items.every((i) => typeof i === 'object' && i !== null && !Array.isArray(i) && !('kind' in i));
}

/**
 * How the inventory task counts: its count options, and the zones of its config, by which an item
 * is counted under its zone's location code as configured now (a stored sighting keeps the code of
 * its time, and a zone's code may have changed since).
 */
export interface InventoryAtEndOptions extends InventoryCountOptions {
  readonly zones?: ZoneIndex;
}

/** An asset's usage in one fiscal period as the events leave it (`rules.depreciation`). */
export interface UsageAtEndRow {
  readonly erpAssetId: string;
  /** The period's id (`2026-10`, or a custom period's name). */
  readonly period: string;
  /** Units used in the period (rounded to 3 decimals, as posted). */
  readonly units: number;
  readonly unit: 'h' | 'km';
  /** The continuous meter at the period's end, or at its latest reading while it is open. */
  readonly meterAtEnd: number;
  /** Read while the asset is held by a calendar change: not filed yet ({@link RulesTestReport.heldUsage}). */
  readonly held?: true;
}

/**
 * The usage per period the events leave in the depreciation rule's state: for each asset they
 * touched, the periods whose usage differs from the starting state's (all of them from empty state).
 */
export function usageAtEnd(start: ReadonlyMap<string, StateDoc>, end: ReadonlyMap<string, StateDoc>, seen: Iterable<string>): UsageAtEndRow[] {
  const rows: UsageAtEndRow[] = [];
  for (const id of seen) {
    const after = end.get(id)?.[DEPRECIATION_RULE] as UsageState | undefined;
    if (!after?.periods) continue;
    const before = (start.get(id)?.[DEPRECIATION_RULE] as UsageState | undefined)?.periods;
    for (const [period, p] of Object.entries(after.periods)) {
      const b = before?.[period];
      if (b && b.units === p.units && b.meterAtEnd === p.meterAtEnd) continue;
      rows.push({ erpAssetId: id, period, units: roundUnits(p.units), unit: after.km ? 'km' : 'h', meterAtEnd: roundUnits(p.meterAtEnd) });
    }
  }
  return rows.sort((a, b) => a.erpAssetId.localeCompare(b.erpAssetId) || a.period.localeCompare(b.period));
}

/**
 * The usage the events read for assets held by a calendar change ({@link UsageState.heldUsage}), per
 * period as a re-file would file it under `calendar` (the configured one), in the periods where it
 * differs from what the starting state held.
 */
export function heldUsageAtEnd(start: ReadonlyMap<string, StateDoc>, end: ReadonlyMap<string, StateDoc>, seen: Iterable<string>, calendar: PeriodCalendar): UsageAtEndRow[] {
  const filed = (s: UsageState | undefined) => (s?.heldUsage === undefined ? {} : (fileHeldUsage({ heldUsage: s.heldUsage, ...(s.heldFrom ? { heldFrom: s.heldFrom } : {}) }, calendar, Infinity).periods ?? {}));
  const rows: UsageAtEndRow[] = [];
  for (const id of seen) {
    const state = end.get(id)?.[DEPRECIATION_RULE] as UsageState | undefined;
    if (state?.heldUsage === undefined) continue;
    const before = filed(start.get(id)?.[DEPRECIATION_RULE] as UsageState | undefined);
    for (const [period, p] of Object.entries(filed(state))) {
      const b = before[period];
      if (b && b.units === p.units && b.meterAtEnd === p.meterAtEnd) continue;
      rows.push({ erpAssetId: id, period, units: roundUnits(p.units), unit: state.km ? 'km' : 'h', meterAtEnd: roundUnits(p.meterAtEnd), held: true });
    }
  }
  return rows.sort((a, b) => a.erpAssetId.localeCompare(b.erpAssetId) || (calendar.period(a.period)?.start ?? 0) - (calendar.period(b.period)?.start ?? 0) || a.period.localeCompare(b.period));
}

/** One (location, SKU) of a destination as counted at the end of the input. */
export interface InventoryEndCell {
  readonly destination: string;
  readonly location: string;
  readonly sku: string;
  readonly quantity: number;
  /** Tagged items behind the quantity. */
  readonly items: number;
}

export interface InventoryAtEnd {
  /** The time counted at (freshness is judged against it): the end of the input. */
  readonly at: number;
  /** Inventory items the events touched. */
  readonly touched: number;
  /** Every cell with items counted, by destination, location and SKU. */
  readonly cells: readonly InventoryEndCell[];
}

export interface UsageComparison {
  /** (asset, period) rows whose usage or meter at the end differs, or that only one config files (absent there). */
  readonly changed: readonly { readonly erpAssetId: string; readonly period: string; readonly current?: UsageAtEndRow; readonly proposed?: UsageAtEndRow }[];
  /** Rows alike under both. */
  readonly same: number;
}

/** The usage rows two rule sets leave, compared by asset and period. */
export function compareUsage(current: readonly UsageAtEndRow[], proposed: readonly UsageAtEndRow[]): UsageComparison {
  // Held usage (not filed yet) is compared with held usage: a period filed under one config and held under the other differs.
  const key = (r: UsageAtEndRow) => `${r.erpAssetId}\u001f${r.period}${r.held ? '\u001fheld' : ''}`;
  const rows = new Map<string, { erpAssetId: string; period: string; current?: UsageAtEndRow; proposed?: UsageAtEndRow }>();
  for (const r of current) rows.set(key(r), { erpAssetId: r.erpAssetId, period: r.period, current: r });
  for (const r of proposed) rows.set(key(r), { ...(rows.get(key(r)) ?? { erpAssetId: r.erpAssetId, period: r.period }), proposed: r });
  const all = [...rows.values()].sort((a, b) => a.erpAssetId.localeCompare(b.erpAssetId) || a.period.localeCompare(b.period));
  const alike = (x: (typeof all)[number]) => x.current !== undefined && x.proposed !== undefined && stableJson(x.current) === stableJson(x.proposed);
  return { changed: all.filter((x) => !alike(x)), same: all.filter(alike).length };
}

export interface InventoryComparison {
  /** Cells counted differently (0: none counted there), by destination, location and SKU. */
  readonly changed: readonly { readonly destination: string; readonly location: string; readonly sku: string; readonly current: number; readonly proposed: number }[];
  /** Cells counted alike. */
  readonly same: number;
}

/** Where an input message is: its line's number, in its file when the input is several; its index in the line's array when the line holds one. */
type Where = { readonly line: number; readonly file?: string; readonly item?: number };

/** `line 12`, or `events-2026-11-30.jsonl:12` for input of several files; `line 12 item 3` for an item of a line's array. */
const whereOf = (l: Where): string => `${l.file !== undefined ? `${l.file}:${l.line}` : `line ${l.line}`}${l.item !== undefined ? ` item ${l.item}` : ''}`;

/**
 * The items of one line's array are the messages of one POST, which the service submits, and so
 * decides, in one batch: of each state key the line delivers, only the newest delivery is kept (on
 * the item that made it), as the batch keeps it; facts are all kept.
 */
function coalesceArrayItems(decided: readonly RulesTestLine[]): RulesTestLine[] {
  const out = [...decided];
  for (let i = 0; i < out.length; ) {
    const first = out[i] as RulesTestLine;
    let j = i + 1;
    if (first.item !== undefined) while (j < out.length && sameLine(out[j] as RulesTestLine, first)) j++;
    if (j - i > 1) {
      const kept = new Set(coalesceStates(out.slice(i, j).flatMap((l) => l.deliveries)));
      for (let g = i; g < j; g++) {
        const l = out[g] as RulesTestLine;
        const deliveries = l.deliveries.filter((d) => kept.has(d));
        if (deliveries.length !== l.deliveries.length) out[g] = { ...l, deliveries };
      }
    }
    i = j;
  }
  return out;
}

/** What a duplicate is said to repeat when its original is not in the input (it came before: the stored state), or differs only in what no rule looks at. */
const EARLIER_EVENT = 'an earlier event';

/** An event as a resend of it says it: all it says, not when it was received or the raw payload; hashed, as one is kept per event the rules may still call a duplicate. */
function eventKey(event: SimulationStep['event']): string {
  const { raw, receivedAt, ...fact } = event;
  void raw;
  void receivedAt;
  return createHash('sha1').update(stableJson(fact)).digest('base64');
}

/** Whether two messages are items of the array of one line. */
const sameLine = (a: Where, b: Where): boolean => a.item !== undefined && b.item !== undefined && a.line === b.line && a.file === b.file;

/** The steps of each batch the service decides `runs` in: a line's own, the items of a line's array together (see {@link coalesceArrayItems}). */
function batchSizes(runs: readonly { readonly at: Where; readonly steps: readonly unknown[] }[]): number[] {
  const sizes: number[] = [];
  runs.forEach((r, i) => {
    const previous = runs[i - 1];
    if (previous !== undefined && sameLine(previous.at, r.at)) sizes[sizes.length - 1] = (sizes[sizes.length - 1] ?? 0) + r.steps.length;
    else sizes.push(r.steps.length);
  });
  return sizes;
}

/** Lines decided together: the rules run once per chunk, not once per line (state is copied per run). */
const CHUNK_LINES = 1000;

/** `policy` without its sensor units (the compared config gives its own). */
function withoutSensorUnits(policy: ValidationPolicy): ValidationPolicy {
  const { sensorUnits: _units, ...rest } = policy;
  return rest;
}

/** Run a JSONL event stream through the rules without storing or sending anything. */
export async function runRulesTest(input: RulesTestInput): Promise<RulesTestReport> {
  const now = input.now ?? Date.now();
  /** The latest processing time of an event so far: what the end of the input is decided at. */
  let lastProcessed = 0;
  const identity = new IdentityIndex(input.assets);
  const decode = createCanonicalDecoder();
  // The service's validation, its future skew (ingest.maxFutureSkewMs) and staleness (maxAgeMs)
  // judged against when a line was received; a line that does not say is not judged stale: a dry
  // run is of past events, taken when fresh.
  const policy = { maxFutureSkewMs: input.maxFutureSkewMs ?? DEFAULT_VALIDATION.maxFutureSkewMs, maxAgeMs: 0, ...(input.zoneNames ? { zoneNames: input.zoneNames } : {}), ...(input.sensorUnits ? { sensorUnits: input.sensorUnits } : {}) };
  const receivedPolicy = { ...policy, maxAgeMs: input.maxAgeMs ?? DEFAULT_VALIDATION.maxAgeMs };
  const maxPayloadBytes = input.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  // With --compare: the second config's zones, which its sightings may name.
  const compareZones = input.compareZoneNames ?? input.zoneNames;
  const otherPolicy = input.compare === undefined ? undefined : { ...withoutSensorUnits(policy), ...(compareZones ? { zoneNames: compareZones } : {}), ...(input.compareSensorUnits ? { sensorUnits: input.compareSensorUnits } : {}) };
  const lines: RulesTestLine[] = [];
  const totals: Record<string, number> = {};
  const byRule: Record<string, { type?: string; total: number; deliveries: Record<string, number> }> = {};
  for (const r of input.deliveringRules ?? []) byRule[r.name] ??= { type: r.type, total: 0, deliveries: {} };
  const counts: { lines: number; messages?: number; accepted: number; rejected: number; shown: number; late: number } = { lines: 0, accepted: 0, rejected: 0, shown: 0, late: 0 };
  /** Meter readings held and set aside, as the service counts them (see {@link RulesTestReport.meterReadings}). */
  const meterReadings = { held: { hours: 0, km: 0 }, setAside: { hours: 0, km: 0 } };
  const countMeterReadings = (bits: number): void => {
    if ((bits & METER_HELD_HOURS) !== 0) meterReadings.held.hours++;
    if ((bits & METER_HELD_KM) !== 0) meterReadings.held.km++;
    if ((bits & METER_SET_ASIDE_HOURS) !== 0) meterReadings.setAside.hours++;
    if ((bits & METER_SET_ASIDE_KM) !== 0) meterReadings.setAside.km++;
  };
  /** Messages the lines held (each item of a line's array one, as the HTTP intake takes them). */
  let messageCount = 0;
  /** Rejected lines that were not JSON at all, and of those the ones with NUL characters (UTF-16 text). */
  const notJson = { lines: 0, utf16: 0, mqttTopic: 0, csv: 0 };
  /** Rejected lines of JSON objects none of which has a `kind`: device payloads, not canonical events. */
  let noKind = 0;
  /** The sensor names the events carried (any event read as one, accepted or not), with threshold rules to check against them. */
  const carried = input.thresholdSensors?.length || input.compareThresholdSensors?.length ? new Set<string>() : undefined;
  /** Messages rejected for an unknown asset, and the identifiers they named (distinct). */
  const unknown = { messages: 0, ids: new Set<string>() };
  /** Facts already counted: one per key, as the outbox keeps them (state updates all count). */
  const factKeys = new Set<string>();
  const count = (ds: readonly DeliveryIntent[]) => {
    for (const d of ds) {
      if (d.kind === 'fact') {
        const k = `${d.destination}\u001f${d.operation}\u001f${d.businessKey}`;
        if (factKeys.has(k)) continue;
        factKeys.add(k);
      }
      const op = `${d.operation} (${d.kind})`;
      totals[op] = (totals[op] ?? 0) + 1;
      const rule = (byRule[ruleOfDelivery(d)] ??= { total: 0, deliveries: {} });
      rule.total++;
      rule.deliveries[op] = (rule.deliveries[op] ?? 0) + 1;
    }
  };
  // With --compare only the comparison is shown: lines are counted, not kept (a long capture would fill memory).
  const keepLines = input.compare === undefined;
  /** The flags of the chunk's steps whose reason advises declaring a meter replacement (taken for the lines that stand). */
  const advisingByStep = new Map<SimulationStep, MeterFlag[]>();
  /** Why a meter reading delivered nothing: what meter hygiene did with it (set aside, held), said on its line. */
  const alertRules = input.alertRules ?? [];
  const explain = (s: SimulationStep, before: StateDoc, after: StateDoc): readonly string[] | undefined => {
    if (s.event.kind === 'alert' && alertRules.length > 0) return notRaisedNotes(closedWhenRaised(alertRules, after[MAINTENANCE_RULE] as MaintenanceState | undefined, s.event, s.asset));
    if (s.event.kind !== 'meter') return undefined;
    const flags = newMeterFlags(before[METER_RULE], after[METER_RULE]);
    const advising = flags.filter((f) => advisesReplacement(f) !== undefined);
    if (advising.length) advisingByStep.set(s, advising);
    return flags.map((f) => meterHygieneNote(f, s.asset.erpAssetId));
  };
  const replacements = new ReplacementAdvice();
  const keep = (l: RulesTestLine) => {
    for (const w of l.idle ?? []) count(w.deliveries);
    count(l.deliveries);
    if (!keepLines || (input.brief && l.accepted && l.deliveries.length === 0 && !l.late && !l.trace && !l.idle && !l.meterHygiene && !l.notRaised)) return;
    counts.shown++;
    if (input.onLine) input.onLine(l);
    else lines.push(l);
  };
  // The rules decide what is a duplicate (their `duplicate`); this only finds where its original
  // was, for the lines shown: where each asset's events were first seen, kept while a rule may
  // still call one sent again a duplicate (see duplicateFloor), so memory follows what the rules hold.
  const recent = new Map<string, Map<string, { readonly where: string; readonly t: number; readonly kind: string }>>();
  const firstSeen = (s: SimulationStep, where: string): string | undefined => {
    let mine = recent.get(s.asset.erpAssetId);
    if (!mine) recent.set(s.asset.erpAssetId, (mine = new Map()));
    const key = eventKey(s.event);
    const before = mine.get(key);
    if (before !== undefined) return before.where;
    mine.set(key, { where, t: s.event.eventTime, kind: s.event.kind });
    return undefined;
  };
  /** Forget the events of `ids` no rule can call a duplicate any more (older than all its rules of that kind hold or released last). */
  const forgetDecided = (ids: Iterable<string>): void => {
    for (const id of ids) {
      const mine = recent.get(id);
      if (!mine) continue;
      const doc = states.get(id) ?? {};
      const floors = new Map<string, number>();
      const floorOf = (kind: string): number => {
        let f = floors.get(kind);
        if (f === undefined) {
          f = Infinity;
          for (const r of input.rules) if (r.kinds.includes(kind as (typeof r.kinds)[number])) f = Math.min(f, duplicateFloor(doc[r.name]));
          floors.set(kind, f);
        }
        return f;
      };
      for (const [key, e] of mine) if (e.t < floorOf(e.kind)) mine.delete(key);
      if (mine.size === 0) recent.delete(id);
    }
  };
  const traced = input.trace === undefined ? undefined : tracedAsset(input.assets, input.trace);
  let states = new Map(input.states);
  // The assets each rule set ran events of (a line one of them rejected touched nothing there).
  const seen = new Map<string, { asset: AssetRecord; destination: string }>();
  const otherSeen = new Map<string, { asset: AssetRecord; destination: string }>();
  // With --compare: the second rule set's state, and a tally of both sets' deliveries (kept whether brief or not).
  const other = input.compare;
  let otherStates = new Map(input.states);
  const tallies = { current: emptyTally(), proposed: emptyTally() };
  // The service's idle watermarks, each rule set with those of its config.
  const idle = input.idleMs ? new IdleWatermarks(input.idleMs) : undefined;
  const otherIdleMs = input.compareIdleMs ?? input.idleMs;
  const otherIdle = otherIdleMs ? new IdleWatermarks(otherIdleMs) : undefined;

  // A chunk: per line, its rejection or its steps; the rules then run over all the chunk's steps.
  /** A line accepted by at least one config; `refused`: why the other (with --compare) would quarantine it. */
  type Run = { readonly at: Where; readonly steps: SimulationStep[]; readonly otherSteps?: SimulationStep[]; readonly refused?: { readonly current?: string; readonly proposed?: string } };
  type Pending = { readonly at: Where; readonly reason: string } | Run;
  let chunk: Pending[] = [];
  /** With --compare: the lines one rule set rejected (a rule threw on them) and the other ran. */
  const oneSided = { current: { lines: 0 } as OneSidedRejections, proposed: { lines: 0 } as OneSidedRejections };
  /** Where each rule set's rules threw (a bug): lines, idle watermarks, the end of the input. */
  const ruleFailed = { current: { lines: 0, watermarks: 0, atEnd: [] } as RuleFailures, proposed: { lines: 0, watermarks: 0, atEnd: [] } as RuleFailures };
  const noteFailure = (f: RuleFailures, kind: 'lines' | 'watermarks', where: string, reason: string): void => {
    f[kind]++;
    f.first ??= `${where}: ${reason}`;
  };
  const noteWatermarks = (f: RuleFailures, ws: readonly (readonly SimulatedWatermark[])[]): void => {
    for (const w of ws.flat()) if (w.failed !== undefined) noteFailure(f, 'watermarks', `the idle watermark of ${w.erpAssetId} at ${new Date(w.at).toISOString()}`, w.failed);
  };
  const rejectedBy = (side: OneSidedRejections, at: Where, reason: string): void => {
    side.lines++;
    side.first ??= `${whereOf(at)}: ${reason}`;
  };
  const decide = () => {
    const runs = chunk.filter((p): p is Run => 'steps' in p);
    // Each config runs the lines it accepts (a sighting of a zone only one of them has).
    const currentRuns = runs.filter((p) => p.refused?.current === undefined);
    const otherRuns = runs.filter((p) => p.refused?.proposed === undefined);
    const steps = currentRuns.flatMap((p) => p.steps);
    // Each line (each item of a line's array) is one message: a rule that throws on it sets it aside, as the service quarantines it.
    const messages = currentRuns.map((p) => p.steps.length);
    const otherMessages = otherRuns.map((p) => p.steps.length);
    // The traced asset's changes, by step.
    const changes = new Map<number, string[]>();
    const onStep = (i: number, id: string, before: StateDoc, after: StateDoc, watermarkAt?: number) => {
      if (id !== traced) return;
      const c = stateChanges(before, after);
      // What the rules hold for the allowed lateness, when that changed.
      const held = heldEvents(after);
      const line = Object.keys(held).length ? `held for the lateness: ${Object.entries(held).map(([r, n]) => `${r} ${n}`).join(', ')}` : 'held for the lateness: nothing';
      const heldBefore = heldEvents(before);
      const lines = stableJson(held) === stableJson(heldBefore) ? c : [...c, line];
      // An idle watermark before the step: its changes first, marked as its own.
      const shown = watermarkAt === undefined ? lines : lines.map((t) => `idle watermark at ${new Date(watermarkAt).toISOString()}: ${t}`);
      // Where the fix is among the zones (what the dwell and hysteresis decide on), once per step.
      const where = watermarkAt === undefined && input.traceZones ? zonesAtFix(input.traceZones, steps[i]?.event) : undefined;
      // Why a threshold's breach started again rather than held on (samples too far apart).
      const gaps = input.traceThresholds ? thresholdGaps(input.traceThresholds, before, after, watermarkAt === undefined ? steps[i]?.event : undefined) : [];
      changes.set(i, [...(changes.get(i) ?? []), ...(where !== undefined ? [where] : []), ...shown, ...gaps]);
    };
    const result = simulateRules(input.rules, steps, { initial: states, messages, ...(keepLines ? { explain } : {}), ...(traced !== undefined ? { onStep } : {}), ...(idle ? { idle } : {}) });
    states = result.states;
    noteWatermarks(ruleFailed.current, result.watermarksByStep);
    /** With --compare: the lines the second rule set set aside, by index among the runs. */
    let otherFailed: ReadonlyMap<number, string> = new Map();
    if (other) {
      const o = simulateRules(other, otherRuns.flatMap((p) => p.otherSteps ?? p.steps), { initial: otherStates, messages: otherMessages, ...(otherIdle ? { idle: otherIdle } : {}) });
      otherStates = o.states;
      otherFailed = o.failed;
      noteWatermarks(ruleFailed.proposed, o.watermarksByStep);
      // In the order the service made them: a line's watermarks, then the line's own deliveries,
      // each as the service's batch keeps them (the newest value of a state key).
      const tally = (t: typeof tallies.current, r: typeof result, sizes: readonly number[]) => {
        let k = 0;
        for (const n of sizes) {
          for (const w of r.watermarksByStep.slice(k, k + n).flat()) tallyDeliveries(t, coalesceStates(w.deliveries));
          tallyDeliveries(t, coalesceStates(r.perStep.slice(k, k + n).flat()));
          k += n;
        }
      };
      tally(tallies.current, result, batchSizes(currentRuns));
      tally(tallies.proposed, o, batchSizes(otherRuns));
    }
    // Per config: the index of the line among the lines it ran (-1: not run), and where its steps start.
    let k = 0;
    let m = -1;
    let mo = -1;
    const decided: RulesTestLine[] = [];
    const failure = (f: string | undefined) => (f === undefined ? undefined : `${f} (${RULE_FAILURE_NOTE})`);
    for (const p of chunk) {
      if (!('steps' in p)) {
        decided.push({ ...p.at, accepted: false, reason: p.reason, events: [], deliveries: [] });
        continue;
      }
      const ranHere = p.refused?.current === undefined;
      if (ranHere) m++;
      if (p.refused?.proposed === undefined) mo++;
      const n = ranHere ? p.steps.length : 0;
      const idleHere = result.watermarksByStep.slice(k, k + n).flat();
      const idleShown = idleHere.length
        ? {
            idle: idleHere.map((w) => ({
              erpAssetId: w.erpAssetId,
              silentSince: new Date(w.silentSince).toISOString(),
              at: new Date(w.at).toISOString(),
              deliveries: coalesceStates(w.deliveries),
              ...(w.failed !== undefined ? { failed: `${w.failed} (${WATERMARK_FAILURE_NOTE})` } : {}),
            })),
          }
        : {};
      const threw = ranHere ? result.failed.get(m) : undefined;
      const otherThrew = other && p.refused?.proposed === undefined ? otherFailed.get(mo) : undefined;
      if (threw !== undefined) noteFailure(ruleFailed.current, 'lines', whereOf(p.at), threw);
      if (otherThrew !== undefined) noteFailure(ruleFailed.proposed, 'lines', whereOf(p.at), otherThrew);
      const failed = p.refused?.current ?? failure(threw);
      const otherFailure = other ? (p.refused?.proposed ?? failure(otherThrew)) : undefined;
      if (other && otherFailure === undefined) for (const s of p.steps) otherSeen.set(s.asset.erpAssetId, { asset: s.asset, destination: s.destination });
      if (failed !== undefined) {
        // Refused by this config (a rule threw: as the service quarantines its message; the watermarks before it were sent).
        if (other && otherFailure === undefined) {
          counts.accepted++;
          rejectedBy(oneSided.current, p.at, failed);
        } else counts.rejected++;
        const watermarkTrace = p.steps.flatMap((_, j) => (ranHere ? (changes.get(k + j) ?? []) : []));
        decided.push({ ...p.at, accepted: false, reason: failed, events: [], deliveries: [], ...idleShown, ...(watermarkTrace.length ? { trace: watermarkTrace } : {}) });
        k += n;
        continue;
      }
      counts.accepted++;
      if (otherFailure !== undefined) rejectedBy(oneSided.proposed, p.at, otherFailure);
      for (const s of p.steps) seen.set(s.asset.erpAssetId, { asset: s.asset, destination: s.destination });
      const late = [...new Set(result.lateByStep.slice(k, k + n).flat())];
      if (late.length) counts.late++;
      for (const bits of result.meterReadingsByStep.slice(k, k + n)) if (bits !== 0) countMeterReadings(bits);
      const trace = p.steps.flatMap((_, j) => changes.get(k + j) ?? []);
      // What explain said of each step: of a meter reading, meter hygiene; of a fault report, a raise it did not make.
      const notes = result.notesByStep.slice(k, k + n);
      const meterHygiene = notes.filter((_, j) => p.steps[j]?.event.kind !== 'alert').flat();
      const notRaised = notes.filter((_, j) => p.steps[j]?.event.kind === 'alert').flat();
      if (advisingByStep.size) for (const s of p.steps) for (const f of advisingByStep.get(s) ?? []) replacements.add(s.asset.erpAssetId, f, whereOf(p.at));
      const deliveries = coalesceStates(result.perStep.slice(k, k + n).flat());
      const before = keepLines ? p.steps.map((s) => firstSeen(s, whereOf(p.at))) : [];
      // A duplicate as the rules decided it (as the service counts it): each of the line's events
      // dropped as one by a rule, none late, nothing delivered. Named by the line first seen with it,
      // or, when that is not in the input (stored state; a copy differing only in what no rule looks at), as earlier.
      const dropped = n > 0 && late.length === 0 && deliveries.length === 0 && result.duplicateByStep.slice(k, k + n).every((d) => d.length > 0);
      const duplicateOf = keepLines && dropped ? (before[0] ?? EARLIER_EVENT) : undefined;
      decided.push({
        ...p.at,
        accepted: true,
        events: p.steps.map((s) => ({ kind: s.event.kind, erpAssetId: s.asset.erpAssetId, eventTime: new Date(s.event.eventTime).toISOString() })),
        // One message (or watermark) is decided in one batch, which keeps only the newest value of each state key.
        deliveries,
        ...(late.length ? { late } : {}),
        ...(duplicateOf !== undefined ? { duplicateOf } : {}),
        ...(meterHygiene.length ? { meterHygiene } : {}),
        ...(notRaised.length ? { notRaised } : {}),
        ...(p.steps.some((s) => s.redelivered === true) ? { redelivered: true as const } : {}),
        ...(trace.length ? { trace } : {}),
        ...idleShown,
      });
      k += n;
    }
    for (const l of coalesceArrayItems(decided)) keep(l);
    if (keepLines) forgetDecided(new Set(runs.flatMap((p) => p.steps.map((s) => s.asset.erpAssetId))));
    advisingByStep.clear();
    replacements.answered(states);
    chunk = [];
  };

  let lineNo = 0;
  let read = 0;
  let file: string | undefined;
  // A pause in the input decides the lines read so far (see decideAfterPauseMs): a tick that finds
  // no line read since the one before, and lines waiting, decides them. The loop below is then
  // waiting for its next line (the only place it waits), with every line read whole in the chunk.
  let readAtTick = -1;
  let pauseFailure: { readonly err: unknown } | undefined;
  const pauses =
    input.onLine !== undefined && input.decideAfterPauseMs !== undefined && input.decideAfterPauseMs > 0
      ? setInterval(() => {
          if (read !== readAtTick) {
            readAtTick = read;
            return;
          }
          if (chunk.length === 0 || pauseFailure !== undefined) return;
          try {
            decide();
            input.onProgress?.(read);
          } catch (err) {
            pauseFailure = { err }; // thrown where the run can fail: in the loop, at its next line or its end
          }
        }, input.decideAfterPauseMs)
      : undefined;
  pauses?.unref();
  try {
    for await (const raw of input.lines) {
      if (pauseFailure !== undefined) throw pauseFailure.err;
      if (typeof raw !== 'string') {
        file = raw.file;
        lineNo = 0;
        continue;
      }
      lineNo++;
      read++;
      const text = raw.trim();
      if (text === '' || text.startsWith('#')) continue;
      counts.lines++;
      const at = file === undefined ? { line: lineNo } : { line: lineNo, file };
      for (const message of splitLine(raw, text, at)) {
        messageCount++;
        if ('reason' in message) {
          counts.rejected++;
          chunk.push(message);
        } else chunk.push(parseLine(message.raw, message.text, message.at));
      }
      if (chunk.length >= CHUNK_LINES) {
        decide();
        input.onProgress?.(read);
      }
    }
  } finally {
    clearInterval(pauses);
  }
  if (pauseFailure !== undefined) throw pauseFailure.err;
  decide();
  input.onProgress?.(read);
  if (messageCount !== counts.lines) counts.messages = messageCount;

  /**
   * A line as the messages the service takes it as: a JSON array's items each its own (as the HTTP
   * intake splits a POST, with the same code), named by its index; any other line one message.
   */
  function splitLine(raw: string, text: string, at: Where): ({ raw: string; text: string; at: Where } | { at: Where; reason: string })[] {
    if (!text.startsWith('[')) return [{ raw, text, at }];
    const split = jsonItems(text);
    // Nested too deep: set aside whole, with the intake's reason; no JSON (or an empty list): one
    // message, rejected with the decoder's reason, as the intake keeps a body it cannot read.
    if (!split.ok && split.tooDeep !== undefined) return [{ at, reason: split.tooDeep }];
    if (!split.ok || split.items.length === 0) return [{ raw, text, at }];
    return split.items.map((item, i) => {
      const payload = itemPayload(item);
      return { raw: payload, text: payload, at: { ...at, item: i } };
    });
  }

  function parseLine(raw: string, text: string, at: Where): Pending {
    const rejected = (reason: string): Pending => {
      counts.rejected++;
      return { at, reason };
    };
    // As the service sets a message over ingest.maxPayloadBytes aside before parsing it, with its reason.
    let size = Buffer.byteLength(raw);
    if (size > maxPayloadBytes) size = capturedMessageBytes(raw, size);
    if (size > maxPayloadBytes) return rejected(`${tooLarge(raw, size, maxPayloadBytes).reason} (${TOO_LARGE_NOTE})`);
    const decoded = decode({ source: 'cli', channel: 'rules-test', payload: text, receivedAt: now });
    if (!decoded.ok) {
      if (decoded.reason.startsWith(NOT_JSON)) {
        notJson.lines++;
        if (text.includes('\u0000')) notJson.utf16++;
        if (text.includes(',') && !/^[[{"]/.test(text)) notJson.csv++;
        const topic = mqttTopicPrefix(text);
        if (topic !== undefined) {
          notJson.mqttTopic++;
          return rejected(`${NOT_JSON}it starts with the MQTT topic ${topic} before the JSON ('mosquitto_sub -v' output): give the JSON alone (subscribe without -v, or strip the topic), as a canonical event`);
        }
        return rejected(notJsonReasonInLine(decoded.reason, raw)); // the column in the line as read, leading blanks and all
      }
      if (withoutKind(text)) noKind++;
      return rejected(decoded.reason);
    }
    if (decoded.events.length === 0) return rejected('an empty list: no event in it');
    if (carried !== undefined) for (const e of decoded.events) if (e.kind === 'sensor' && typeof e.values === 'object' && e.values !== null) for (const k of Object.keys(e.values)) carried.add(k);
    const steps: SimulationStep[] = [];
    // With --compare: why one config alone would quarantine the line (the other accepts it).
    let refusedCurrent: string | undefined;
    let refusedProposed: string | undefined;
    /** With --compare: the steps as the proposed config's rules see them, where its sensor units convert a reading otherwise. */
    let otherSteps: SimulationStep[] | undefined;
    for (const event of decoded.events) {
      const received = receivedAtOf(event.raw);
      if (typeof received === 'object') return rejected(received.problem);
      const receivedAt = received;
      const redelivered = redeliveredOf(event.raw);
      if (typeof redelivered === 'object') return rejected(redelivered.problem);
      // Judged as the service judges it, against when it was received: the capture says; a line that
      // does not is taken as received when it happened (as the rules see it), so never from the future.
      // An event time past the year 9999 is none a scenario has (epoch microseconds or nanoseconds read as
      // milliseconds): judged at the time of the run, it is refused as the service refuses it, with its hint.
      const validAt = receivedAt ?? (typeof event.eventTime === 'number' && Number.isFinite(event.eventTime) && event.eventTime <= LATEST_LINE_TIME ? Math.max(now, event.eventTime) : now);
      const judge = (p: typeof policy): string | undefined => {
        const v = validateEvent(event, validAt, receivedAt !== undefined ? { ...p, maxAgeMs: receivedPolicy.maxAgeMs } : p);
        if (v.ok) return undefined;
        return receivedAt === undefined ? v.reason : event.eventTime > receivedAt + policy.maxFutureSkewMs ? `${v.reason} (${FUTURE_NOTE})` : v.code === 'stale' ? `${v.reason} (${STALE_NOTE})` : v.reason;
      };
      // Each config judges the line as the service with it would (the zones a sighting may name are its own).
      const valid = judge(policy);
      const validTheirs = otherPolicy === undefined ? valid : judge(otherPolicy);
      if (valid !== undefined && validTheirs !== undefined) return rejected(valid);
      const r = identity.resolve(event.ids);
      if (!r.ok) {
        unknown.messages++;
        unknown.ids.add(event.ids.map((id) => `${id.type} ${id.value}`).join(' / '));
        // What to do is said in full once; each line after it names the quarantine only (a day's capture of one unknown tag repeated it thousands of times).
        return rejected(`${r.reason} (${unknown.messages === 1 ? UNKNOWN_ASSET_NOTE : UNKNOWN_ASSET_AGAIN})`);
      }
      // A reading in another unit than the threshold rules that apply to its asset is converted to
      // theirs, or refused when it does not convert, as the service does once it knows the asset:
      // with --compare, each config's rules see it in their own units.
      const aligned = alignSensorUnits(event, input.sensorUnits, r.asset);
      const theirsAligned = input.compare === undefined ? aligned : alignSensorUnits(event, input.compareSensorUnits, r.asset);
      const mine = valid ?? (aligned.ok ? undefined : aligned.reason);
      const theirs = validTheirs ?? (theirsAligned.ok ? undefined : theirsAligned.reason);
      if (mine !== undefined && theirs !== undefined) return rejected(mine);
      refusedCurrent ??= mine;
      refusedProposed ??= theirs;
      const destination = r.asset.destination ?? input.defaultDestination;
      // The rules see each event processed when the service received it (the capture says when),
      // or, for a line that does not say, as it happened: not at the time this command runs (a
      // work order's planned window would then follow today, not the event).
      const processedAt = receivedAt ?? event.eventTime;
      if (processedAt > lastProcessed) lastProcessed = processedAt;
      const step = (e: CanonicalEvent): SimulationStep => ({ event: { ...e, receivedAt: processedAt }, asset: r.asset, destination, ...(receivedAt !== undefined ? { receivedAt } : {}), ...(redelivered ? { redelivered } : {}) });
      const myEvent = aligned.ok ? aligned.event : event;
      steps.push(step(myEvent));
      if (input.compare !== undefined) {
        const theirEvent = theirsAligned.ok ? theirsAligned.event : event;
        if (otherSteps !== undefined || theirEvent !== myEvent) (otherSteps ??= steps.slice(0, -1)).push(step(theirEvent));
      }
    }
    const refused = refusedCurrent !== undefined || refusedProposed !== undefined ? { refused: { ...(refusedCurrent !== undefined ? { current: refusedCurrent } : {}), ...(refusedProposed !== undefined ? { proposed: refusedProposed } : {}) } } : {};
    return { at, steps, ...(otherSteps !== undefined ? { otherSteps } : {}), ...refused };
  }

  // As the service does once an asset falls silent (idle watermarks): what is held is decided, and
  // each asset counts as staying where it was last seen, so a zone dwell under way completes.
  // A rule that throws on an asset there leaves that asset as it was (what it holds undecided), as
  // the service quarantines its watermark; the other assets are decided.
  const atEnd = (f: RuleFailures) => (erpAssetId: string, reason: string) => {
    f.atEnd.push({ erpAssetId, reason: `${reason} (${WATERMARK_FAILURE_NOTE})` });
    f.first ??= `the end of the input, ${erpAssetId}: ${reason}`;
  };
  const flushAll = (rules: readonly Rule[], from: ReadonlyMap<string, StateDoc>, ran: ReadonlyMap<string, { asset: AssetRecord; destination: string }>, failures: RuleFailures) =>
    input.flush === false ? { deliveries: [], states: from } : flushRules(rules, new Map([...from].filter(([id]) => ran.has(id))), ran, lastProcessed > 0 ? lastProcessed : now, Number.MAX_SAFE_INTEGER, atEnd(failures));
  const end = flushAll(input.rules, states, seen, ruleFailed.current);
  const flushed = coalesceStates(end.deliveries);
  count(flushed);
  const tracedReport = traced === undefined ? {} : { traced: { erpAssetId: traced, atEnd: stateChanges(states.get(traced) ?? {}, end.states.get(traced) ?? states.get(traced) ?? {}) } };
  // Counted as the inventory task would count right after the last event, from every item's state then.
  const countAt = lastProcessed > 0 ? lastProcessed : now;
  // Items of the stored state the input does not touch, with sightings held or a zone entry under
  // way, are counted as the service counts them once they are silent (its idle watermarks): decided,
  // as the input's are. What that decides is not the input's doing: not shown, not counted.
  const untouched = (from: ReadonlyMap<string, StateDoc>, rules: readonly Rule[], ran: ReadonlyMap<string, unknown>, failures: RuleFailures): Map<string, StateDoc> => {
    if (input.flush === false) return new Map(from);
    const inventoryRules = rules.filter((r) => r.name === INVENTORY_RULE);
    const items = new Map<string, { asset: AssetRecord; destination: string }>();
    const docs = new Map<string, StateDoc>();
    for (const { asset } of input.assets) {
      const doc = from.get(asset.erpAssetId);
      if (doc === undefined || ran.has(asset.erpAssetId) || doc[INVENTORY_RULE] === undefined) continue;
      items.set(asset.erpAssetId, { asset, destination: asset.destination ?? input.defaultDestination });
      docs.set(asset.erpAssetId, doc);
    }
    const settled = inventoryRules.length && items.size ? flushRules(inventoryRules, docs, items, countAt, Number.MAX_SAFE_INTEGER, atEnd(failures)).states : docs;
    return new Map([...from, ...settled]);
  };
  const inventory = input.inventory && inventoryAtEnd(input.inventory, input.assets, input.defaultDestination, new Map([...untouched(states, input.rules, seen, ruleFailed.current), ...end.states]), seen, countAt);
  // Nothing accepted and nothing even JSON: the input as a whole is of another form, said once.
  const noneAccepted = counts.accepted === 0 && counts.rejected > 0;
  const hint =
    noneAccepted && notJson.lines === counts.rejected
      ? notJson.utf16 > 0
        ? INPUT_HINTS.utf16
        : notJson.mqttTopic === notJson.lines
          ? INPUT_HINTS.mqttTopic
          : notJson.csv === notJson.lines
            ? INPUT_HINTS.csv
            : INPUT_HINTS.notJsonLines
      : noneAccepted && noKind === counts.rejected
        ? INPUT_HINTS.notCanonical
        : undefined;
  const inputHint = {
    ...(hint === undefined ? {} : { inputHint: hint }),
    ...(unknown.messages ? { unknownAssets: { messages: unknown.messages, distinct: unknown.ids.size, ids: [...unknown.ids].slice(0, UNKNOWN_IDS_SHOWN) } } : {}),
  };
  const usage = input.rules.some((r) => r.name === DEPRECIATION_RULE) ? usageAtEnd(input.states, new Map([...states, ...end.states]), seen.keys()) : [];
  const heldUsage = input.usageCalendar && input.rules.some((r) => r.name === DEPRECIATION_RULE) ? heldUsageAtEnd(input.states, new Map([...states, ...end.states]), seen.keys(), input.usageCalendar) : [];
  const unseenOf = (thresholds: readonly ThresholdSensor[] | undefined): UnseenSensors | undefined => {
    const rules = carried !== undefined && counts.accepted > 0 ? unseenThresholdSensors(thresholds ?? [], carried) : [];
    return rules.length ? { sensorsCarried: carried?.size ?? 0, rules } : undefined;
  };
  const unseen = unseenOf(input.thresholdSensors);
  const unseenSensors = unseen ? { unseenSensors: unseen } : {};
  const anyFailure = (f: RuleFailures) => f.lines + f.watermarks + f.atEnd.length > 0;
  const ruleFailures = anyFailure(ruleFailed.current) ? { ruleFailures: ruleFailed.current } : {};
  const m = meterReadings;
  const meterCounts = m.held.hours + m.held.km + m.setAside.hours + m.setAside.km > 0 ? { meterReadings } : {};
  const advice = replacements.unanswered();
  const meterAdvice = advice.length ? { meterReplacementAdvice: advice } : {};
  if (!other) return { lines, flushed, totals, byRule, counts, ...meterCounts, ...meterAdvice, ...tracedReport, ...(inventory ? { inventory } : {}), ...(usage.length ? { usage } : {}), ...(heldUsage.length ? { heldUsage } : {}), ...inputHint, ...ruleFailures, ...unseenSensors };
  tallyDeliveries(tallies.current, flushed);
  const otherEnd = flushAll(other, otherStates, otherSeen, ruleFailed.proposed);
  tallyDeliveries(tallies.proposed, coalesceStates(otherEnd.deliveries));
  const otherInventory = input.compareInventory && inventoryAtEnd(input.compareInventory, input.assets, input.defaultDestination, new Map([...untouched(otherStates, other, otherSeen, ruleFailed.proposed), ...otherEnd.states]), otherSeen, countAt);
  const inventoryComparison = inventory || otherInventory ? compareInventoryCells(inventory?.cells ?? [], otherInventory?.cells ?? []) : undefined;
  const rejectedByOne = oneSided.current.lines + oneSided.proposed.lines > 0 ? { rejectedByOne: oneSided } : {};
  // Usage per period is no delivery of an event (the usage-posting task posts it), so it is compared as the events leave it.
  const otherUsage = other.some((r) => r.name === DEPRECIATION_RULE) ? usageAtEnd(input.states, new Map([...otherStates, ...otherEnd.states]), otherSeen.keys()) : [];
  const otherHeld = input.compareUsageCalendar && other.some((r) => r.name === DEPRECIATION_RULE) ? heldUsageAtEnd(input.states, new Map([...otherStates, ...otherEnd.states]), otherSeen.keys(), input.compareUsageCalendar) : [];
  const mine = [...usage, ...heldUsage];
  const theirs = [...otherUsage, ...otherHeld];
  const usageComparison = mine.length || theirs.length ? { usageComparison: compareUsage(mine, theirs) } : {};
  const configuredRules = input.deliveringRules && input.compareDeliveringRules ? { current: input.deliveringRules, proposed: input.compareDeliveringRules } : undefined;
  const otherUnseen = unseenOf(input.compareThresholdSensors);
  return {
    lines,
    flushed,
    totals,
    byRule,
    counts,
    ...meterCounts,
    comparison: { ...compareTallies(tallies.current, tallies.proposed, configuredRules), ...(input.changedSections?.length ? { changedSections: input.changedSections } : {}) },
    ...rejectedByOne,
    ...tracedReport,
    ...(inventory ? { inventory } : {}),
    ...(inventoryComparison ? { inventoryComparison } : {}),
    ...usageComparison,
    ...inputHint,
    ...ruleFailures,
    ...(anyFailure(ruleFailed.proposed) ? { compareRuleFailures: ruleFailed.proposed } : {}),
    ...unseenSensors,
    ...(otherUnseen ? { compareUnseenSensors: otherUnseen } : {}),
  };
}

/** Readings of one asset's meter set aside, advising a replacement, that came after the same reading (the one they were judged against) or so: counted together. */
interface AdvisedReadings {
  /** The earliest time a replacement declared answers them ({@link advisesReplacement}). */
  since: number;
  readings: number;
  readonly first: string;
  last: string;
}

/** Groups kept per asset and meter at most: beyond, the two oldest are counted as one (answered by what answers the earlier). */
const MAX_ADVISED_GROUPS = 64;

/**
 * The readings set aside whose reason advises declaring a meter replacement, per asset and meter,
 * while no replacement declared in the input answers them ({@link RulesTestReport.meterReplacementAdvice}).
 * The meter rule's newest replacement only moves later, so readings it answers once stay answered:
 * they are forgotten at once, and what is kept is small (groups of readings judged against one reading).
 */
class ReplacementAdvice {
  private readonly byMeter = new Map<string, { readonly erpAssetId: string; readonly meter: 'hours' | 'km'; readonly groups: AdvisedReadings[] }>();

  add(erpAssetId: string, f: MeterFlag, where: string): void {
    const since = advisesReplacement(f);
    if (since === undefined) return;
    const meter = flagMeter(f);
    const key = `${erpAssetId}\u001f${meter}`;
    let entry = this.byMeter.get(key);
    if (!entry) this.byMeter.set(key, (entry = { erpAssetId, meter, groups: [] }));
    const groups = entry.groups;
    const latest = groups.at(-1);
    if (latest?.since === since) {
      latest.readings++;
      latest.last = where;
      return;
    }
    groups.push({ since, readings: 1, first: where, last: where });
    if (groups.length > MAX_ADVISED_GROUPS) {
      // Counted as one, answered from the earlier time: advice is then left out rather than given wrongly.
      const [a, b] = groups.splice(0, 2) as [AdvisedReadings, AdvisedReadings];
      groups.unshift({ since: Math.min(a.since, b.since), readings: a.readings + b.readings, first: a.first, last: b.last });
    }
  }

  /** Forgets the readings a replacement the meter rule's state in `states` records answers. */
  answered(states: ReadonlyMap<string, StateDoc>): void {
    for (const [key, entry] of this.byMeter) {
      const reset = lastReplacementAt(states.get(entry.erpAssetId)?.[METER_RULE] as MeterSyncState | undefined, entry.meter);
      if (reset === undefined) continue;
      const left = entry.groups.filter((g) => g.since >= reset);
      if (left.length === 0) this.byMeter.delete(key);
      else if (left.length < entry.groups.length) entry.groups.splice(0, entry.groups.length, ...left);
    }
  }

  /** What is left: per asset and meter, in the order first seen. */
  unanswered(): MeterReplacementAdvice[] {
    return [...this.byMeter.values()].map(({ erpAssetId, meter, groups }) => ({
      erpAssetId,
      meter,
      readings: groups.reduce((n, g) => n + g.readings, 0),
      first: (groups[0] as AdvisedReadings).first,
      last: (groups.at(-1) as AdvisedReadings).last,
      advice: adviceFor(declareReplacementAdvice(meter === 'km' ? 'km' : 'h'), erpAssetId),
    }));
  }
}

/**
 * The counts the inventory task would make at `at` from `states` (with the task's own counting),
 * over every inventory item of the registry; undefined when the events touched none (`seen`).
 */
function inventoryAtEnd(
  options: InventoryAtEndOptions,
  assets: readonly AssetWithIdentifiers[],
  defaultDestination: string,
  states: ReadonlyMap<string, StateDoc>,
  seen: ReadonlyMap<string, unknown>,
  at: number,
): InventoryAtEnd | undefined {
  const items = assets
    .filter((a) => isInventoryItem(a.asset, options.skuAttribute))
    .map(({ asset }) => ({ asset, destination: asset.destination ?? defaultDestination, state: withCurrentZoneCode(states.get(asset.erpAssetId)?.[INVENTORY_RULE] as InventoryItemState | undefined, options.zones) }));
  const touched = items.filter((i) => seen.has(i.asset.erpAssetId)).length;
  if (touched === 0) return undefined;
  const cells: InventoryEndCell[] = [];
  for (const [destination, byCell] of countInventory(items, at, options)) for (const c of byCell.values()) cells.push({ destination, ...c });
  return { at, touched, cells: cells.sort(cellOrder) };
}

type CellKey = Pick<InventoryEndCell, 'destination' | 'location' | 'sku'>;
const cellOrder = (a: CellKey, b: CellKey): number => a.destination.localeCompare(b.destination) || a.location.localeCompare(b.location) || a.sku.localeCompare(b.sku);

/** The cells two rule sets count differently (a cell one of them does not count is 0 there). */
export function compareInventoryCells(current: readonly InventoryEndCell[], proposed: readonly InventoryEndCell[]): InventoryComparison {
  const key = (c: CellKey) => `${c.destination}\u001f${c.location}\u001f${c.sku}`;
  const cells = new Map<string, CellKey & { current: number; proposed: number }>();
  for (const c of current) cells.set(key(c), { destination: c.destination, location: c.location, sku: c.sku, current: c.quantity, proposed: 0 });
  for (const c of proposed) cells.set(key(c), { destination: c.destination, location: c.location, sku: c.sku, current: cells.get(key(c))?.current ?? 0, proposed: c.quantity });
  const all = [...cells.values()];
  return { changed: all.filter((c) => c.current !== c.proposed).sort(cellOrder), same: all.filter((c) => c.current === c.proposed).length };
}

/**
 * The latest time a line's event time is taken as a scenario's, and its `receivedAt` at all:
 * 9999-12-31T23:59:59.999Z. Past it lie times no sender means (epoch microseconds or nanoseconds
 * read as milliseconds), and near the end of what a Date holds (the year 275760) the rules' own
 * dates (a period's end, a planned window) are no time at all, which stopped the whole run.
 */
const LATEST_LINE_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Said with an event rejected as too far in the future: the service would quarantine it, and which setting decides. */
const FUTURE_NOTE = 'judged at its receivedAt: the service quarantines it as invalid';

/**
 * Said with a line whose asset the registry here lacks: the service's reason speaks of its
 * quarantine, which a dry run has none of; what to do here, where the registry is the config's.
 */
const UNKNOWN_ASSET_NOTE =
  "the service quarantines it as unknown-asset; this dry run takes the assets from the config's assets over the store beside it, if there is one: add the asset to the config's assets or import it into that store, or run where the store that has it is, then run again";

/** Said with every such line after the first (which says {@link UNKNOWN_ASSET_NOTE}). */
const UNKNOWN_ASSET_AGAIN = 'the service quarantines it as unknown-asset; what to do is said with the first such line and in the summary';

/** How many of the unknown assets' identifiers the report names (the summary says how many there were). */
export const UNKNOWN_IDS_SHOWN = 10;

/** Said with a line a rule threw on: the service would quarantine its message and go on with the others. */
const RULE_FAILURE_NOTE = 'the service quarantines the message, with the state as before it, and goes on with the others';

/** Said with an idle watermark (or the end of the input, decided as one) a rule threw on. */
const WATERMARK_FAILURE_NOTE = "the service quarantines the watermark, with the asset's state as before it: what its rules hold stays undecided until it reports again";

/** The service's `ingest.maxPayloadBytes` when the config does not set it. */
const DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576;

/** Said with a line rejected as larger than `ingest.maxPayloadBytes`: the service would set such a message aside unparsed. */
const TOO_LARGE_NOTE = 'the service quarantines such a message as too-large, unparsed';

/** Said with an event rejected as stale (the reason names ingest.maxAgeMs): judged at its receipt, as the service would quarantine it. */
const STALE_NOTE = 'judged at its receivedAt: the service quarantines it as stale';

/**
 * The size of the message a captured line stands for, as the service measured it against
 * `ingest.maxPayloadBytes`: a line of one event with `receivedAt` (the capture's form) without the
 * fields the capture writes beside the event, `receivedAt`, `source` and `redelivered` (the service
 * measured the message before any was known, and the decoder ignores them), in compact JSON, as the HTTP
 * intake measures each event it is posted. Any other line is measured as it is (`size`), and so is
 * a captured line shorter as it is (never judged larger than it is).
 */
function capturedMessageBytes(raw: string, size: number): number {
  if (!raw.includes('"receivedAt"')) return size;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return size;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !('receivedAt' in value)) return size;
  const { receivedAt: _received, source: _source, redelivered: _redelivered, ...event } = value as Record<string, unknown>;
  return Math.min(size, Buffer.byteLength(JSON.stringify(event)));
}

/**
 * When the service received an event: the `receivedAt` the capture writes (ISO 8601 or epoch ms), if
 * the line has one; a value that is no such time is refused with the reason (taken as absent, it
 * would silently drop the line's idle watermarks and its checks against ingest.maxFutureSkewMs).
 */
function receivedAtOf(raw: unknown): number | undefined | { readonly problem: string } {
  const v = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>).receivedAt : undefined;
  if (v === undefined) return undefined;
  const t = typeof v === 'string' ? parseIsoTime(v) : v;
  if (typeof t === 'number' && Number.isFinite(t) && t <= LATEST_LINE_TIME) return t;
  if (typeof t === 'number' && Number.isFinite(t))
    return {
      problem: `receivedAt ${JSON.stringify(v)} is past the year 9999, no time the service received anything at (epoch microseconds or nanoseconds read as milliseconds?): give an ISO 8601 time with a zone or epoch milliseconds, as the capture writes it, or remove it to take the line as received when it happened`,
    };
  const got = t === 'zoneless' ? `${JSON.stringify(v)}, which has no zone` : JSON.stringify(v);
  return {
    problem: `receivedAt must be an ISO 8601 time with a zone (e.g. 2026-10-01T08:00:00Z) or epoch milliseconds, got ${got}: it says when the service received the event, as the capture writes it; fix it, or remove it to take the line as received when it happened`,
  };
}

/**
 * Whether the line says its message was sent again by its source: the `"redelivered": true` the
 * capture writes for an MQTT redelivery (absent or false: not); any other value is refused with the
 * reason (taken as absent, the line would count as late where the service did not).
 */
function redeliveredOf(raw: unknown): boolean | { readonly problem: string } {
  const v = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>).redelivered : undefined;
  if (v === undefined || v === false) return false;
  if (v === true) return true;
  return {
    problem: `redelivered must be true or false, got ${JSON.stringify(v) ?? typeof v}: it says the service took the event from a message its source sent again (an MQTT redelivery), as the capture writes it; write true (without quotes), or remove it for a message sent once`,
  };
}

/**
 * For `--trace`: the zones a GPS fix is inside and in the hysteresis band of (near none: nothing);
 * the dwell and hysteresis decide on these, so a zone not entered or not left is explained.
 */
export function zonesAtFix(zones: ZoneIndex, event: SimulationStep['event'] | undefined): string | undefined {
  if (event?.kind !== 'position' || typeof event.lat !== 'number' || typeof event.lng !== 'number') return undefined;
  const hit = zones.locate(event.lat, event.lng);
  if (hit.inside.length === 0 && hit.band.length === 0) return undefined;
  const inside = hit.inside.length ? `inside ${hit.inside.join(', ')}` : 'inside no zone';
  return `this line's fix (${new Date(event.eventTime).toISOString()}): ${inside}${hit.band.length ? `; in the hysteresis band (rules.zones.hysteresisM) of ${hit.band.join(', ')}: not left from there, nor entered` : ''}`;
}

/**
 * For `--trace`: the thresholds whose breach (or episode under way) a gap between two samples longer
 * than their `maxGap` broke in this step, so that it started again at the later sample: the answer to
 * "it was hot for an hour, why no work order?" when the sensor reports less often than `maxGap`.
 */
export function thresholdGaps(thresholds: readonly ThresholdRule[], before: StateDoc, after: StateDoc, event?: SimulationStep['event']): string[] {
  const prior = before[MAINTENANCE_RULE] as MaintenanceState | undefined;
  const was = prior?.thresholds;
  const now = (after[MAINTENANCE_RULE] as MaintenanceState | undefined)?.thresholds;
  // The sensor samples this step may have decided: those held for the lateness, and its own event.
  const samples: { t: number; sensors: readonly string[] }[] = (prior?.order?.pending ?? []).flatMap((x) => (x.k === 's' ? [{ t: x.t, sensors: Object.keys(x.v) }] : []));
  if (event?.kind === 'sensor') samples.push({ t: event.eventTime, sensors: Object.keys(event.values) });
  const out: string[] = [];
  for (const rule of thresholds) {
    const a = was?.[rule.name];
    const b = now?.[rule.name];
    if (a === undefined || b === undefined || a.phase === 'normal' || a.last === undefined || a.start === undefined) continue;
    // A new breach started after a gap: the start moved, and further than maxGap from the last sample.
    if (b.phase !== 'pending' || b.start === undefined || b.start === a.start || b.start - a.last <= rule.maxGapMs) continue;
    // A sample of the sensor in between (a value that did not breach, decided in the same step): no gap broke it.
    const start = b.start;
    if (samples.some((x) => x.t > (a.last as number) && x.t < start && x.sensors.includes(rule.sensor))) continue;
    const iso = (t: number) => new Date(t).toISOString();
    const what = a.phase === 'pending' ? `the breach since ${iso(a.start)} was broken` : `the episode since ${iso(a.start)} ended`;
    out.push(
      `threshold ${rule.name}: ${formatDuration(b.start - a.last)} since its previous sample (${iso(a.last)}), more than maxGap (${formatDuration(rule.maxGapMs)}): ${what}, and a breach starts anew at ${iso(b.start)}${rule.durationMs > 0 ? `; a sensor that reports less often than maxGap never holds one for \`for\` (${formatDuration(rule.durationMs)}): raise maxGap` : ''}`,
    );
  }
  return out;
}

/** The ERP asset `--trace` names: by its ERP id, or by any identifier the registry maps to it alone (as every command's asset is named). */
function tracedAsset(assets: readonly AssetWithIdentifiers[], name: string): string {
  const found = resolveAssetName(assets, name);
  if (!found) throw new NotFoundError(`--trace ${name}: no asset has that ERP id or identifier; see 'assetbridge assets list'`);
  return found.erpAssetId;
}

/** A payload value as text: strings and numbers as they are, anything else as JSON. */
const txt = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v) ?? '');

/**
 * A payload as JSON: a meter reading in full (a few fields; cut at 120 characters, one after a
 * declared meter replacement lost its `meterResetAt`, the one thing that tells it from a meter
 * going backwards); anything else cut at 120 characters, saying so with `…`.
 */
function shortJson(operation: string, p: DeliveryIntent['payload']): string {
  const json = JSON.stringify(p);
  return operation === METER_RECORD || json.length <= 120 ? json : `${json.slice(0, 119)}…`;
}

/**
 * The time zone of a work order's planned dates, by the site its payload names: that site's
 * maintenance calendar's, else the default calendar's (`rules.maintenance.windows`), as the rules
 * pick the window; undefined where neither is configured.
 */
export type PlannedZone = (site: unknown) => string | undefined;

/** The {@link PlannedZone} of a config's `rules.maintenance.windows`. */
export function plannedZoneOf(windows: Readonly<Record<string, WindowCalendar>> | undefined): PlannedZone {
  return (site) => (windows === undefined ? undefined : calendarForSite(windows, site)?.timeZone);
}

/**
 * A planned window as the site's calendar reads it, then its start as the ERP gets it (UTC):
 * `2026-10-03 06:00–14:00 Europe/Amsterdam (2026-10-03T04:00:00.000Z)`, the end with its date when
 * that is another day (`2026-10-03 22:00–2026-10-04 02:00 …`), so a window cut short (a DST change,
 * a closed day) shows; the UTC alone without a zone (`start–end`). `endIso`: undefined when not known.
 */
export function plannedTime(iso: string, timeZone: string | undefined, endIso?: string): string {
  const t = Date.parse(iso);
  const e = endIso === undefined ? NaN : Date.parse(endIso);
  if (timeZone === undefined || Number.isNaN(t)) return Number.isNaN(e) ? iso : `${iso}–${endIso ?? ''}`;
  const clock = (ms: number): string => {
    const p = zonedParts(ms, timeZone);
    return `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
  };
  const day = localDate(t, timeZone);
  const end = Number.isNaN(e) ? '' : `–${localDate(e, timeZone) === day ? '' : `${localDate(e, timeZone)} `}${clock(e)}`;
  return `${day} ${clock(t)}${end} ${timeZone} (${iso})`;
}

/** A line each: a critical report that raised no work order's priority, as its work order was closed by then. */
function notRaisedNotes(closed: readonly ClosedWhenRaised[]): readonly string[] | undefined {
  if (closed.length === 0) return undefined;
  return closed.map((c) => `priority not raised (rule ${c.rule}): the ERP reported work order ${c.businessKey}${c.text !== undefined ? ` (${JSON.stringify(c.text)})` : ''} ${c.status} at ${new Date(c.at).toISOString()}, at or before this report`);
}

/** What raised a work order's priority (a `workorder.update`'s trigger): ` by the critical report of SPN100-FMI1 at …` (a fault with no code: of its text, quoted). */
function escalationOf(trigger: unknown): string {
  if (trigger === null || typeof trigger !== 'object') return '';
  const t = trigger as { severity?: unknown; code?: unknown; reason?: unknown; reportedAt?: unknown };
  const text = t.code === undefined && typeof t.reason === 'string' ? faultText(t.reason) : undefined;
  const of = t.code !== undefined ? ` of ${txt(t.code)}` : text !== undefined ? ` of ${JSON.stringify(text)}` : '';
  return ` by the ${txt(t.severity)} report${of}${t.reportedAt !== undefined ? ` at ${txt(t.reportedAt)}` : ''}`;
}

/**
 * One line per delivery: operation, destination, business key and the essentials of the payload.
 * `decidedBy`: the event times of the line it is shown under; a location update of another fix (one
 * the lateness held, or an idle watermark's) says which. `zoneOf`: the zone a work order's planned
 * window is shown in as well (its site's maintenance calendar's).
 */
export function describeDelivery(d: DeliveryIntent, decidedBy?: readonly string[], zoneOf?: PlannedZone): string {
  const p = d.payload;
  const fixOf = decidedBy !== undefined && typeof p.lastSeen === 'string' && !decidedBy.includes(p.lastSeen) ? `, the ${p.coordinates === null ? 'sighting' : 'fix'} of ${p.lastSeen}` : '';
  const detail =
    d.operation === 'location.update'
      ? `location ${txt(p.warehouseLocation ?? '(none)')} ${p.coordinates === null ? 'from a zone sighting (no coordinates)' : `at ${JSON.stringify(p.coordinates)}`}${fixOf}`
      : d.operation === 'workorder.create'
        ? `${txt(p.priority)} "${txt(p.title)}"${p.plannedStart ? ` planned ${typeof p.plannedStart === 'string' ? plannedTime(p.plannedStart, zoneOf?.(p.site), typeof p.plannedEnd === 'string' ? p.plannedEnd : undefined) : txt(p.plannedStart)}` : p.plannedStart === null ? `, not planned: no maintenance window ${typeof p.site === 'string' ? `for site ${p.site}` : 'for an asset without a site'} (rules.maintenance.windows)` : ''}`
        : d.operation === WORKORDER_UPDATE
          ? `priority raised to ${txt(p.priority)}${escalationOf(p.trigger)}`
          : d.operation === 'inventory.count'
          ? `${txt(p.location)} ${txt(p.sku)} = ${txt(p.countedQuantity)} (${Number(p.delta) >= 0 ? '+' : ''}${txt(p.delta)})`
          : d.operation === 'usage.post'
            ? `${txt(p.period)}: ${txt(p.periodUnits)} ${txt(p.unit)}`
            : shortJson(d.operation, p);
  return `${d.operation} → ${d.destination} [${d.kind}] ${d.businessKey}: ${detail}`;
}

/**
 * `rules test --json` written as the input is read: each line as soon as it is decided (hand
 * {@link line} to {@link RulesTestInput.onLine}), then the rest of the report at the {@link end}.
 * The text is that of `toJson(report)` with all the lines in it, but a long input no longer has to
 * be held in memory, nor built into one string, which for a large capture would be more than a string
 * can hold.
 */
export function jsonReportWriter(write: (text: string) => void): { line: (l: RulesTestLine) => void; end: (report: RulesTestReport) => void } {
  let n = 0;
  // Written in pieces of some 64 KiB: a write per line took as long as deciding the lines.
  let pending = '';
  const line = (l: RulesTestLine) => {
    pending += `${n++ === 0 ? '{\n  "lines": [\n    ' : ',\n    '}${toJson(l).replace(/\n/g, '\n    ')}`;
    if (pending.length >= 65_536) {
      write(pending);
      pending = '';
    }
  };
  return {
    line,
    end: (report) => {
      const { lines, ...rest } = report;
      lines.forEach(line); // any the report kept (none when each was handed over as decided)
      write(`${pending}${n === 0 ? '{\n  "lines": []' : '\n  ]'},${toJson(rest).slice(1)}\n`);
      pending = '';
    },
  };
}

/**
 * `rules test --jsonl`: JSON Lines, each object as soon as it is decided: `{"type":"line", …}` for
 * each input line shown (as a line of `--json`'s `lines`), then at the end `{"type":"flushed", …}`
 * for each delivery decided at the end of the input (as one of `--json`'s `flushed`) and last
 * `{"type":"summary", …}`, the rest of `--json`'s report (totals, byRule, counts, …). Written in
 * pieces of some 64 KiB; {@link flush} writes what is pending (after each chunk of lines is decided).
 */
export function jsonlReportWriter(write: (text: string) => void): { line: (l: RulesTestLine) => void; flush: () => void; end: (report: RulesTestReport) => void } {
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    write(pending);
    pending = '';
  };
  const out = (o: object) => {
    pending += `${toJson(o, 0)}\n`;
    if (pending.length >= 65_536) flush();
  };
  const line = (l: RulesTestLine) => out({ type: 'line', ...l });
  return {
    line,
    flush,
    end: (report) => {
      const { lines, flushed, ...rest } = report;
      lines.forEach(line); // any the report kept (none when each was handed over as decided)
      for (const d of flushed) out({ type: 'flushed', ...d });
      out({ type: 'summary', ...rest });
      flush();
    },
  };
}

/** An idle watermark sent before a line: what it decided at, or that a rule threw on it. */
function idleLine(w: NonNullable<RulesTestLine['idle']>[number]): string {
  const head = `  idle: ${w.erpAssetId} silent since ${w.silentSince}, `;
  return w.failed === undefined ? `${head}decided at ${w.at} (rules.idleAfter)` : `${head}not decided at ${w.at} (rules.idleAfter): ${w.failed}`;
}

/** One input line as `rules test` shows it: what it held, what it would deliver, and why not. */
export function formatLine(l: RulesTestLine, zoneOf?: PlannedZone): string {
  const out: string[] = [];
  if (!l.accepted) {
    out.push(`${whereOf(l)}: rejected: ${l.reason ?? ''}`);
    for (const w of l.idle ?? []) {
      out.push(idleLine(w));
      for (const d of w.deliveries) out.push(`    ${describeDelivery(d, [], zoneOf)}`);
    }
    for (const t of l.trace ?? []) out.push(`  · ${t}`);
    return `${out.join('\n')}\n`;
  }
  const e = l.events.map((x) => `${x.kind} ${x.erpAssetId} @ ${x.eventTime}`).join(', ');
  out.push(`${whereOf(l)}: ${e}${l.deliveries.length ? '' : ' (no deliveries)'}`);
  if (l.duplicateOf !== undefined) out.push(`  duplicate of ${l.duplicateOf}: dropped by the rules (the same event sent again; not counted as late)`);
  if (l.redelivered) out.push('  redelivered: its source sent the message again (an MQTT redelivery), as the service took it: an older event counts as one already taken, not late, and is not flagged by meter hygiene again');
  for (const h of l.meterHygiene ?? []) out.push(`  ${h}`);
  for (const h of l.notRaised ?? []) out.push(`  ${h}`);
  for (const w of l.idle ?? []) {
    out.push(idleLine(w));
    for (const d of w.deliveries) out.push(`    ${describeDelivery(d, [], zoneOf)}`);
  }
  if (l.late) out.push(`  late: dropped by ${l.late.join(', ')} (not newer than what it already decided on; rules.allowedLateness)`);
  const times = l.events.map((x) => x.eventTime);
  for (const d of l.deliveries) out.push(`  ${describeDelivery(d, times, zoneOf)}`);
  for (const t of l.trace ?? []) out.push(`  · ${t}`);
  return `${out.join('\n')}\n`;
}

export function formatRulesTest(report: RulesTestReport, zoneOf?: PlannedZone): string {
  return `${report.lines.map((l) => formatLine(l, zoneOf)).join('')}${formatSummary(report, zoneOf)}`;
}

/** What a run started from, for what its summary says of late lines: `fromStoredState` false for a run from empty state (`--fresh`, no store, nothing stored). */
export interface RulesTestStart {
  readonly fromStoredState?: boolean;
}

/**
 * Lines dropped as late: from stored state, usually events it already decided (the service ran
 * them), which then compare alike under any rules: say so, and how to start from nothing. From
 * empty state (`start.fromStoredState` false) only the input itself decided them: say how.
 */
function lateNote(late: number, start: RulesTestStart): string[] {
  if (late === 0) return [];
  if (start.fromStoredState === false)
    return [`${late} line(s) dropped as late by the rules (not newer than what they had already decided on from the input's earlier lines: more than rules.allowedLateness behind a newer event of the asset, or a repeat of one decided; each such line says by which rule)`];
  return [`${late} line(s) dropped as late by the rules (not newer than what they had already decided on; when that is the stored state, the service ran them: use --fresh to start from empty state)`];
}

/** Meter readings meter hygiene held or set aside, by meter, as the service counts them. */
function meterReadingsNote(m: RulesTestReport['meterReadings']): string[] {
  if (!m) return [];
  const by = (c: { readonly hours: number; readonly km: number }) => `${c.hours} hour-meter, ${c.km} odometer`;
  return [`meter readings held by meter hygiene: ${by(m.held)}; held ones set aside: ${by(m.setAside)} (as the service counts them: assetbridge_meter_readings_held_total, assetbridge_meter_readings_set_aside_total)`];
}

/** The readings set aside that a replaced meter would explain and no replacement declared in the input answers, with what to run. */
function meterReplacementLines(advice: RulesTestReport['meterReplacementAdvice']): string[] {
  if (!advice?.length) return [];
  return [
    'meter readings set aside that a replaced meter or ECU would explain, with no replacement declared after them in the input:',
    ...advice.map((a) => `  ${a.erpAssetId} ${a.meter === 'km' ? 'odometer' : 'hour meter'}: ${a.readings === 1 ? `1 reading (${a.first})` : `${a.readings} readings (${a.first} to ${a.last})`}; ${a.advice}`),
  ];
}

/** What follows the lines: what the end of the input decided, and the counts. */
export function formatSummary(report: RulesTestReport, zoneOf?: PlannedZone, start: RulesTestStart = {}): string {
  const out: string[] = [];
  if (report.flushed.length) {
    out.push('', 'decided at the end of the input, as the service does once an asset falls silent (events held for the allowed lateness; zone dwell under way):');
    for (const d of report.flushed) out.push(`  ${describeDelivery(d, [], zoneOf)}`);
  }
  out.push(...notDecidedAtEnd(report.ruleFailures));
  if (report.traced?.atEnd.length) out.push('', `${report.traced.erpAssetId} at the end of the input:`, ...report.traced.atEnd.map((t) => `  · ${t}`));
  if (report.inventory) out.push('', ...inventoryLines(report.inventory));
  if (report.usage?.length || report.heldUsage?.length) out.push('', ...usageLines(report.usage ?? [], report.heldUsage ?? []));
  const totals = Object.entries(report.totals);
  const c = report.counts;
  const quiet = (c.messages ?? c.lines) - c.shown;
  out.push(
    '',
    `${linesRead(c)}: ${c.accepted} accepted, ${c.rejected} rejected${quiet > 0 ? ` (${quiet} ${c.messages !== undefined ? 'message' : 'line'}(s) without deliveries not shown)` : ''}`,
    ...(report.inputHint !== undefined ? [report.inputHint] : []),
    ...unknownAssetsNote(report.unknownAssets),
    ...lateNote(c.late, start),
    ...meterReadingsNote(report.meterReadings),
    ...meterReplacementLines(report.meterReplacementAdvice),
    ...failureNote(report.ruleFailures),
    totals.length ? `would deliver: ${totals.map(([k, n]) => `${n} × ${k}`).join(', ')}` : 'would deliver nothing',
    ...byRuleLines(report),
    ...unseenSensorLines(report.unseenSensors),
    'nothing was stored or sent',
  );
  return `${out.join('\n')}\n`;
}

/**
 * What each rule would deliver (`by rule:`, a line a rule), for tuning one rule among many; the
 * rules that make no deliveries of events (inventory, depreciation) point at their own section.
 */
function byRuleLines(report: RulesTestReport): string[] {
  const rules = Object.entries(report.byRule);
  if (rules.length === 0) return [];
  const out = ['by rule:'];
  for (const [name, r] of rules) {
    const what = Object.entries(r.deliveries).map(([k, n]) => `${n} × ${k}`).join(', ');
    out.push(`  ${name}${r.type !== undefined ? ` (${r.type})` : ''}: ${what || 'nothing'}`);
  }
  if (report.inventory) out.push(`  ${INVENTORY_RULE}: no deliveries of events (the inventory task sends the counts: above)`);
  if (report.usage?.length || report.heldUsage?.length) out.push(`  ${DEPRECIATION_RULE}: no deliveries of events (the usage-posting task posts the usage: above)`);
  return out;
}

/** The threshold rules whose sensor no event carried (not tried at all), with the sensor likely meant. */
function unseenSensorLines(u: RulesTestReport['unseenSensors']): string[] {
  if (!u?.rules.length) return [];
  if (u.sensorsCarried === 0) return [`no event of the input carried a sensor reading: threshold rule(s) ${u.rules.map((r) => r.rule).join(', ')} not tried`];
  return [
    `not tried: threshold rule(s) whose sensor no event of the input carried (it carried ${u.sensorsCarried} other sensor name(s)); a misspelled sensor name, or a source mapping that does not map the sensor:`,
    ...u.rules.map((r) => `  ${r.rule}: ${r.sensor}${r.didYouMean !== undefined ? ` (did you mean ${r.didYouMean}?)` : ''}`),
  ];
}

/** The rejected messages whose asset the registry here lacks: how many, for which identifiers, and what to do. */
function unknownAssetsNote(u: RulesTestReport['unknownAssets']): string[] {
  if (!u) return [];
  const more = u.distinct > u.ids.length ? `, and ${u.distinct - u.ids.length} more` : '';
  return [
    `${u.messages} rejected for ${u.distinct} unknown asset(s) (${u.ids.join(', ')}${more}): the service quarantines these as unknown-asset; add the assets to the config's assets or import them ('assetbridge assets import'), then run again`,
  ];
}

/** `3 event line(s)`, and the messages they hold when a line holds a JSON array (accepted and rejected count those). */
function linesRead(c: RulesTestReport['counts']): string {
  return `${c.lines} event line(s)${c.messages !== undefined ? ` holding ${c.messages} message(s) (each item of a JSON array its own, as POST /v1/events takes it)` : ''}`;
}

/** The assets a rule threw on at the end of the input (as their watermark): left as they were. */
function notDecidedAtEnd(f: RuleFailures | undefined, under = ''): string[] {
  if (!f?.atEnd.length) return [];
  return ['', `not decided at the end of the input${under}: a rule failed on these assets (a bug), whose held events stay undecided:`, ...f.atEnd.map((a) => `  ${a.erpAssetId}: ${a.reason}`)];
}

/** How often the rules threw (a bug, which makes `rules test` exit 1), with the first. */
function failureNote(f: RuleFailures | undefined, under = ''): string[] {
  if (!f) return [];
  const parts = [
    ...(f.lines ? [`${f.lines} line(s) rejected`] : []),
    ...(f.watermarks ? [`${f.watermarks} idle watermark(s) not decided`] : []),
    ...(f.atEnd.length ? [`${f.atEnd.length} asset(s) not decided at the end of the input`] : []),
  ];
  return [`a rule failed${under} (a bug: please report it, with the lines concerned; exit status 1): ${parts.join(', ')}; the first, ${f.first ?? ''}`];
}

/** Counts are made by a periodic task, not by the events' rules: said wherever counts are shown, so "(no deliveries)" on a sighting is not read as nothing counted. */
const INVENTORY_NOTE =
  "(inventory counts are no delivery of an event: the running service's inventory task sends the counts that changed every rules.inventory.changesEvery, " +
  "and all of them on rules.inventory.fullSnapshotCron, each as the change since what it last sent; 'assetbridge inventory counts' shows what it would send now)";

/** The counts the events leave, as `rules test` shows them. */
function inventoryLines(inv: InventoryAtEnd): string[] {
  const head = `inventory counts the events leave, as the inventory task would make them at the end of the input (${new Date(inv.at).toISOString()}; items seen at a location within rules.inventory.freshness of it; ${inv.touched} item(s) touched by the events):`;
  const rows: (string | number)[][] = [['DESTINATION', 'LOCATION', 'SKU', 'COUNTED', 'ITEMS'], ...inv.cells.map((c) => [c.destination, c.location, c.sku, c.quantity, c.items])];
  const body = inv.cells.length ? table(rows).trimEnd().split('\n').map((l) => `  ${l}`) : ['  none: no item was seen at a location within rules.inventory.freshness of the end of the input'];
  return [head, ...body, INVENTORY_NOTE];
}

/** The usage per period the events leave, and the usage they read while held by a calendar change, as `rules test` shows them. */
function usageLines(rows: readonly UsageAtEndRow[], held: readonly UsageAtEndRow[]): string[] {
  const grid = (list: readonly UsageAtEndRow[]) =>
    table([['ASSET', 'PERIOD', 'UNITS', 'METER AT END'], ...list.map((r) => [r.erpAssetId, r.period, `${formatAmount(r.units)} ${r.unit}`, `${formatAmount(r.meterAtEnd)} ${r.unit}`])])
      .trimEnd()
      .split('\n')
      .map((l) => `  ${l}`);
  return [
    ...(rows.length ? ['usage per fiscal period the events leave (rules.depreciation), in the periods they changed:', ...grid(rows)] : []),
    ...(held.length ? [HELD_USAGE_HEAD, ...grid(held)] : []),
    USAGE_NOTE,
  ];
}

/** What the held usage rows are: read, counted, filed in no period yet. */
const HELD_USAGE_HEAD =
  "usage read while held by a calendar change (rules.depreciation: the asset's periods are filed under another calendar than the configured one), not filed in any period yet: per period as a re-file ('assetbridge depreciation refile') would file it under the configured calendar; filed once the usage is re-filed, or under the old calendar once that is set back, and posted by nothing before:";

/** Usage is posted by a periodic task, not by the events' rules: said wherever usage is shown. */
const USAGE_NOTE =
  "(usage is no delivery of an event: the running service's usage-posting task posts each period rules.depreciation.postAfter after it ends, and 'assetbridge depreciation post' on demand; 'assetbridge depreciation preview' shows the stored usage with its depreciation)";

/**
 * Whether two rule sets come out the same: the same deliveries and the same inventory counts at the
 * end, and no line that one of them would quarantine and the other run.
 */
export function sameOutcome(report: Pick<RulesTestReport, 'comparison' | 'inventoryComparison' | 'usageComparison' | 'rejectedByOne' | 'ruleFailures' | 'compareRuleFailures'>): boolean {
  // An idle watermark or end-of-input decision one config fails on and the other makes is a difference (lines are in rejectedByOne).
  const failing = (f: RuleFailures | undefined) => stableJson({ watermarks: f?.watermarks ?? 0, atEnd: (f?.atEnd ?? []).map((a) => a.erpAssetId).sort() });
  return (
    (report.comparison === undefined || sameDeliveries(report.comparison)) &&
    (report.inventoryComparison?.changed.length ?? 0) === 0 &&
    (report.usageComparison?.changed.length ?? 0) === 0 &&
    report.rejectedByOne === undefined &&
    failing(report.ruleFailures) === failing(report.compareRuleFailures)
  );
}

/** A payload field's value for a one-line comparison: short, `(none)` when absent (and `null` when null: they differ). */
const shortValue = (v: unknown): string => {
  const t = v === undefined ? '(none)' : typeof v === 'string' ? JSON.stringify(v) : txt(v);
  return t.length > 60 ? `${t.slice(0, 59)}…` : t;
};

const plainObject = (v: unknown): v is Readonly<Record<string, unknown>> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `field a → b; …` for the fields that differ between two payloads; within a field that is an
 * object on both sides (a work order's `trigger`, `sensorSnapshot`), the fields of it that differ,
 * by dotted path (`trigger.dueSoonHours 20 → 10`), as a cut-off JSON of the whole object would
 * often show the same text on both sides.
 */
function fieldChanges(a: Readonly<Record<string, unknown>> | undefined, b: Readonly<Record<string, unknown>> | undefined, prefix = ''): string {
  return differingFields(a, b)
    .map((k) => {
      const x = a?.[k];
      const y = b?.[k];
      if (plainObject(x) && plainObject(y)) return fieldChanges(x, y, `${prefix}${k}.`);
      return `${prefix}${k} ${shortValue(x)} → ${shortValue(y)}`;
    })
    .join('; ');
}

/** Whether two rule sets deliver the same: no fact gained, lost or changed, no state ending elsewhere. */
export function sameDeliveries(c: DeliveryComparison): boolean {
  return c.onlyCurrent.length + c.onlyProposed.length + c.changed.length + c.states.length === 0;
}

/** `rules test --compare`: the deliveries of two rule sets over the same events, side by side. */
export function formatComparison(
  report: RulesTestReport,
  names: { readonly current: string; readonly proposed: string },
  zones: { readonly current?: PlannedZone; readonly proposed?: PlannedZone } = {},
  start: RulesTestStart = {},
): string {
  const c = report.comparison;
  if (!c) return formatRulesTest(report, zones.current);
  const out: string[] = [
    `the same ${report.counts.accepted} accepted ${report.counts.messages !== undefined ? 'message' : 'event line'}(s), assets and starting state, through the rules of ${names.current} (current) and of ${names.proposed} (proposed):`,
    '',
  ];
  const rows: (string | number)[][] = [['DELIVERIES', 'CURRENT', 'PROPOSED', 'CHANGE']];
  for (const [op, t] of Object.entries(c.totals).sort(([a], [b]) => a.localeCompare(b))) rows.push([op, t.current, t.proposed, t.proposed === t.current ? '' : `${t.proposed > t.current ? '+' : ''}${t.proposed - t.current}`]);
  out.push(rows.length > 1 ? table(rows).trimEnd() : 'neither would deliver anything');
  out.push(...byRuleComparison(c));
  const section = (title: string, items: readonly string[]) => {
    if (items.length === 0) return;
    out.push('', `${title} (${items.length}):`, ...items.map((i) => `  ${i}`));
  };
  section(`facts only with ${names.proposed}`, c.onlyProposed.map((d) => describeDelivery(d, undefined, zones.proposed)));
  section(`facts only with ${names.current}`, c.onlyCurrent.map((d) => describeDelivery(d, undefined, zones.current)));
  section('facts both would send, with another payload', c.changed.map((f) => `${f.current.operation} → ${f.current.destination} ${f.current.businessKey}: ${fieldChanges(f.current.payload, f.proposed.payload)}`));
  section('state updates that would end on another value', c.states.map((st) => `${st.operation} → ${st.destination} ${st.businessKey}: ${fieldChanges(st.current, st.proposed)}`));
  const inv = report.inventoryComparison;
  if (inv) {
    section('inventory counts the events leave that differ (counted at the end of the input)', inv.changed.map((x) => `${x.destination} ${x.location} ${x.sku}: ${x.current} → ${x.proposed}`));
    out.push('', `${inv.same} inventory count(s) alike under both`, INVENTORY_NOTE);
  }
  const use = report.usageComparison;
  if (use) {
    const amount = (r: UsageAtEndRow | undefined) => (r === undefined ? '(none)' : `${formatAmount(r.units)} ${r.unit} (meter at end ${formatAmount(r.meterAtEnd)} ${r.unit})${r.held ? ', held by a calendar change, not filed' : ''}`);
    section('usage per fiscal period the events leave that differs (rules.depreciation)', use.changed.map((x) => `${x.erpAssetId} ${x.period}: ${amount(x.current)} → ${amount(x.proposed)}`));
    out.push('', `${use.same} period usage(s) alike under both`, USAGE_NOTE);
  }
  // A rule added or removed that delivered nothing on this input: the deliveries compare alike, the configs do not.
  const oneSided = Object.entries(c.byRule).filter(([, r]) => r.change !== undefined && r.current === 0 && r.proposed === 0);
  section(
    'rules only one config has, with no deliveries on this input',
    oneSided.map(([name, r]) => {
      const sensor = (r.change === 'added' ? report.compareUnseenSensors : report.unseenSensors)?.rules.find((u) => u.rule === name);
      const unseen = sensor ? `; no event of the input carried its sensor ${sensor.sensor}${sensor.didYouMean !== undefined ? ` (did you mean ${sensor.didYouMean}?)` : ''}` : '';
      return `${name}${r.type !== undefined ? ` (${r.type})` : ''}: only in ${r.change === 'added' ? names.proposed : names.current} (${r.change ?? ''})${unseen}`;
    }),
  );
  // A rule both configs have with other settings, whether or not it delivered otherwise (a threshold moved where no reading reaches).
  const changedRules = c.changedRules ?? [];
  section(
    'rules both configs have, with other settings',
    changedRules.map((r) => `${r.rule} (${r.type}): ${r.settings.map((x) => `${x.key} ${shortValue(x.current)} → ${shortValue(x.proposed)}`).join('; ')}`),
  );
  const changedSections = c.changedSections ?? [];
  section(
    'other rules settings that differ',
    changedSections.map((k) => `${k} ${k.endsWith('s') ? 'differ' : 'differs'}`),
  );
  out.push(...notDecidedAtEnd(report.ruleFailures, ` under ${names.current}`), ...notDecidedAtEnd(report.compareRuleFailures, ` under ${names.proposed}`));
  const same = sameOutcome(report);
  const alike = `both would deliver the same (${c.sameFacts} fact(s) alike)`;
  const differ = [
    ...(oneSided.length ? [`${oneSided.length} rule(s) only one of them has, which delivered nothing on this input`] : []),
    ...(changedRules.length ? [`the settings of ${changedRules.length} rule(s) both have`] : []),
    ...(changedSections.length ? [`${changedSections.join(', ')}`] : []),
  ];
  out.push(
    '',
    same
      ? differ.length
        ? `no difference in deliveries: ${alike}; but the configs differ in ${differ.join('; in ')} (above)`
        : `no difference: ${alike}`
      : `${c.sameFacts} fact(s) alike under both`,
    `${linesRead(report.counts)}: ${report.counts.accepted} accepted, ${report.counts.rejected} rejected`,
    ...oneSidedNote(report.rejectedByOne?.current, names.current, names.proposed),
    ...oneSidedNote(report.rejectedByOne?.proposed, names.proposed, names.current),
    ...lateNote(report.counts.late, start),
    ...failureNote(report.ruleFailures, ` under ${names.current}`),
    ...failureNote(report.compareRuleFailures, ` under ${names.proposed}`),
    'nothing was stored or sent',
  );
  return `${out.join('\n')}\n`;
}

/**
 * The deliveries of each rule under both configs (as the table by operation above), for tuning one
 * rule among many: a rule only one config has is marked added or removed.
 */
function byRuleComparison(c: DeliveryComparison): string[] {
  const rules = Object.entries(c.byRule);
  if (rules.length === 0) return [];
  const rows: (string | number)[][] = [['RULE', 'TYPE', 'CURRENT', 'PROPOSED', 'CHANGE']];
  for (const [name, r] of rules) {
    const diff = r.proposed === r.current ? '' : `${r.proposed > r.current ? '+' : ''}${r.proposed - r.current}`;
    rows.push([name, r.type ?? '', r.current, r.proposed, [r.change, diff].filter((x) => x).join(', ')]);
  }
  return ['', 'by rule:', ...table(rows).trimEnd().split('\n').map((l) => `  ${l}`)];
}

/** Lines one config rejected and the other ran: part of the difference, said with the first and why. */
function oneSidedNote(side: OneSidedRejections | undefined, by: string, other: string): string[] {
  if (!side || side.lines === 0) return [];
  return [`${side.lines} of them rejected under ${by} alone (run under ${other}), the first ${side.first ?? ''}`];
}
