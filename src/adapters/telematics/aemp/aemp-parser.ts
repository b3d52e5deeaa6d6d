/**
 * One tolerant parser for ISO 15143-3 (AEMP 2.0) documents in every dialect seen in the wild
 * (telematics.md §2.5): XML or JSON, any key casing, with or without a `Fleet` wrapper, `datetime`
 * as attribute or child, single objects where arrays belong, numeric strings, placeholders and
 * non-metric units. It turns fleet snapshots, single-element snapshots and time-series pages into
 * canonical events, one per data block time, and refuses (with a reason) anything that is not AEMP,
 * is truncated, oversize or hostile. It never throws.
 * @module
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { normalizeIdentifier } from '../../../core/model/assets.js';
import type { CanonicalEvent, IdentifierType, MeterEvent, PositionEvent, SensorEvent, SensorValue, SourceIdentifier } from '../../../core/model/events.js';
import type { Decoder } from '../../../core/normalize/decoder.js';
import { payloadText } from '../../../core/normalize/decoder.js';
import { blockEntries, blockSpecFor, readExtensionBlock, type AempWarningKind, type BlockSpec, type Fragment, type MeterField, type Warn } from './aemp-dialect-blocks.js';

export type { AempWarningKind } from './aemp-dialect-blocks.js';
import { aliases, asArray, findKey, get, isNode, normKey, normalizedKeys, readText, readTime, type AempNode } from './aemp-dialect.js';

/** A pagination link as the document gave it; `rel` is lower-cased, `href` may be relative. */
export interface AempLink {
  readonly rel: string;
  readonly href: string;
}

/** The Equipment header and Trackunit `Metadata`, trimmed, with placeholders removed. */
export interface AempEquipmentHeader {
  oemName?: string;
  model?: string;
  /** Customer/fleet label (free text, e.g. "850 Kramer 346041375"). */
  equipmentId?: string;
  serialNumber?: string;
  pin?: string;
  vin?: string;
  machineId?: string;
  unitId?: string;
  telematicSerialNumber?: string;
  externalReferenceNumber?: string;
  /** `UnitInstallDateTime` (epoch ms) when it is a real time. */
  unitInstallTime?: number;
}

/** One machine of a snapshot and what it said. */
export interface AempEquipment {
  readonly header: AempEquipmentHeader;
  /** Identifiers, strongest first: external-ref, machine-id, pin, vin, serial, unit-id, device-serial. */
  readonly ids: SourceIdentifier[];
  /** Canonical events ordered by event time (position, meter, sensor, alert within one time). */
  readonly events: CanonicalEvent[];
  /** The Equipment element as parsed (XML attributes as keys, element text as `#text`). */
  readonly raw: unknown;
  /** What was skipped or assumed, e.g. placeholders and blocks without a datetime. */
  readonly warnings: string[];
  /**
   * The blocks nothing could be taken from because of how the feed sent them (no datetime, a
   * latitude that is not a number, a unit not known): each with its key and the parser's reasons
   * (`reading-left-out` warnings). A block that gave a reading and lost another (a fix with an
   * unusable altitude) is not among them: it is in the events.
   */
  readonly unusable: readonly UnusableBlock[];
  /** Every block object of the element the parser read (known blocks and extension blocks), in `raw`. */
  readonly blocks: ReadonlySet<unknown>;
  /** The kind of each warning, at the same index: code reads these, never the texts. */
  readonly warningKinds: AempWarningKind[];
}

export type AempDocument =
  | {
      kind: 'fleet';
      /** The document's `snapshotTime`; informative only, never used as a reading time. */
      snapshotTime?: number;
      version?: string;
      links: AempLink[];
      equipment: AempEquipment[];
      /** Document-level warnings (bad links, non-object equipment entries, ...). */
      warnings: string[];
      warningKinds: AempWarningKind[];
    }
  | {
      kind: 'timeseries';
      /** Canonical element name of the series, e.g. `CumulativeOperatingHours`, `Location`, `FaultCode`. */
      dataElement: string;
      links: AempLink[];
      /** From the document when it names the equipment, else {@link AempParseOptions.ids}. */
      ids: SourceIdentifier[];
      events: CanonicalEvent[];
      /** The page's blocks nothing could be taken from: see {@link AempEquipment.unusable}. */
      unusable: readonly UnusableBlock[];
      warnings: string[];
      warningKinds: AempWarningKind[];
    };

export interface AempParseOptions {
  /** Source name stamped on events, e.g. `aemp:trackunit`. */
  source: string;
  /** When the body was received (epoch ms). */
  receivedAt: number;
  /** HTTP Content-Type; only a hint, the body is sniffed. */
  contentType?: string;
  /**
   * Identifiers for documents that do not name their equipment (time-series pages fetched by
   * PIN): the caller passes the identifier it put in the URL.
   */
  ids?: readonly SourceIdentifier[];
  /** Largest body accepted, bytes. @default 16 MiB */
  maxBytes?: number;
  /** Deepest element/object nesting accepted. @default 32 */
  maxDepth?: number;
  /**
   * What the caller asked for. A time-series page that names its equipment (EquipmentHeader) and
   * holds a single entry looks exactly like a one-machine snapshot; `timeseries` settles it. A bare
   * equipment element whose blocks are lists (two FaultCodes, several Locations) looks like a series
   * page that names its machine; `fleet` settles that, so its extension blocks are read too.
   * Documents with an `Equipment` element are always fleets.
   */
  expect?: 'fleet' | 'timeseries';
}

/** A block of an element that gave no reading: see {@link AempEquipment.unusable}. */
export interface UnusableBlock {
  /** The key it had in the feed (`Location`, `CumulativeOperatingHours`). */
  readonly key: string;
  /** The block object, as in {@link AempEquipment.raw}. */
  readonly block: unknown;
  /** Why its readings were left out (the `reading-left-out` warnings it raised). */
  readonly reasons: readonly string[];
}

/**
 * Why an element's unusable blocks gave nothing, for a quarantine reason: each block by key, with
 * what the parser said of it (field and value).
 */
export function unusableReason(unusable: readonly UnusableBlock[]): string {
  return unusable.map((u) => `${u.key} block: ${u.reasons.join('; ')}`).join(' | ');
}

/** Warnings with their kinds; see {@link AempWarningKind}. */
export interface AempWarnings {
  readonly warnings: readonly string[];
  readonly warningKinds: readonly AempWarningKind[];
}

/** The texts of the warnings of one kind (e.g. `reading-left-out`: the readings an element lost). */
export function warningsOfKind(from: AempWarnings, kind: AempWarningKind): string[] {
  return from.warnings.filter((_, i) => from.warningKinds[i] === kind);
}

/** An empty warning list and the `warn` that fills it, text and kind at the same index. */
function warningList(): { warnings: string[]; warningKinds: AempWarningKind[]; warn: Warn } {
  const warnings: string[] = [];
  const warningKinds: AempWarningKind[] = [];
  return {
    warnings,
    warningKinds,
    warn: (kind, message) => {
      warnings.push(message);
      warningKinds.push(kind);
    },
  };
}

export type AempParseResult = { ok: true; document: AempDocument } | { ok: false; reason: string };

/** Defaults for {@link AempParseOptions.maxBytes} and {@link AempParseOptions.maxDepth}. */
export const AEMP_PARSE_LIMITS = { maxBytes: 16 * 1024 * 1024, maxDepth: 32 } as const;

/** Parses one AEMP response body. Never throws: bad input gives `{ ok: false, reason }`. */
export function parseAempDocument(body: string | Uint8Array, opts: AempParseOptions): AempParseResult {
  try {
    const tree = parseTree(body, opts);
    if (!tree.ok) return tree;
    return buildDocument(tree.value, opts);
  } catch (err) {
    // Defensive: nothing above should throw, but a parser bug must not take the poller down.
    return { ok: false, reason: `AEMP parser failed unexpectedly: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * A machine's readings in event-time order (ties as parsed). An element lists its blocks one data
 * element after another (all hours, then all distances); the engine gets them as they happened,
 * so rules that read several of them see none as late.
 */
export function oldestFirst(events: readonly CanonicalEvent[]): readonly CanonicalEvent[] {
  for (let i = 1; i < events.length; i++) if ((events[i] as CanonicalEvent).eventTime < (events[i - 1] as CanonicalEvent).eventTime) return [...events].sort((a, b) => a.eventTime - b.eventTime);
  return events;
}

/**
 * Decoder for a RawMessage whose payload is ONE equipment element serialised as JSON (the poller
 * submits each equipment element this way so a quarantined one can be replayed). Also accepts a
 * whole snapshot or XML. Refuses an element that has readings but no usable identifier.
 */
export function createAempEquipmentDecoder(limits: Pick<AempParseOptions, 'maxBytes' | 'maxDepth'> = {}): Decoder {
  return (message) => {
    // `fleet`: the poller submits equipment elements; one with list blocks is still an element (not a
    // series page), or its extension blocks would be dropped here while `aemp parse` showed them.
    const parsed = parseAempDocument(message.payload, { source: message.source, receivedAt: message.receivedAt, expect: 'fleet', ...limits });
    if (!parsed.ok) return parsed;
    const doc = parsed.document;
    if (doc.kind === 'timeseries') {
      if (doc.events.length > 0 && doc.ids.length === 0) return { ok: false, reason: `time-series payload names no equipment; ${doc.warnings.join('; ')}` };
      return { ok: true, events: oldestFirst(doc.events) };
    }
    if (doc.equipment.length === 0) return { ok: false, reason: 'payload holds no Equipment element' };
    const events: CanonicalEvent[] = [];
    for (const eq of doc.equipment) {
      if (eq.events.length > 0 && eq.ids.length === 0)
        return { ok: false, reason: `equipment has readings but no usable identifier (no PIN, SerialNumber, EquipmentID or Metadata id); ${eq.warnings.join('; ')}` };
      // Nothing usable, but blocks that were sent (a fleet pull's set-aside block replayed before the
      // fix): refused, so its quarantine entry stays (again) rather than closing with nothing taken.
      if (eq.events.length === 0 && eq.unusable.length > 0)
        return { ok: false, reason: `no reading in it can be used (${unusableReason(eq.unusable)}); fix the parser or configuration (or have the provider fix the feed), then replay it` };
      events.push(...oldestFirst(eq.events));
    }
    return { ok: true, events };
  };
}

// ---------------------------------------------------------------------------------------------
// Bytes → tree

type Tree = { ok: true; value: unknown } | { ok: false; reason: string };

const xmlParsers = new Map<number, XMLParser>();

function xmlParser(maxDepth: number): XMLParser {
  let parser = xmlParsers.get(maxDepth);
  if (!parser) {
    parser = new XMLParser({
      // Attributes become plain keys, so `datetime` reads the same as an attribute or a child.
      ignoreAttributes: (name: string) => name.startsWith('xmlns'),
      attributeNamePrefix: '',
      removeNSPrefix: true,
      // Everything stays text: identifiers like "0012345" must not become numbers.
      parseTagValue: false,
      parseAttributeValue: false,
      trimValues: true,
      ignoreDeclaration: true,
      ignorePiTags: true,
      // Only the predefined and numeric character references; DOCTYPE entities are refused before.
      htmlEntities: true,
      maxNestedTags: maxDepth,
    });
    xmlParsers.set(maxDepth, parser);
  }
  return parser;
}

function byteLength(body: string | Uint8Array, limit: number): number {
  if (typeof body !== 'string') return body.byteLength;
  // UTF-8 takes at most 3 bytes per UTF-16 unit: skip the exact count when far below the limit.
  return body.length * 3 <= limit ? body.length : Buffer.byteLength(body, 'utf8');
}

function parseTree(body: string | Uint8Array, opts: AempParseOptions): Tree {
  const maxBytes = opts.maxBytes ?? AEMP_PARSE_LIMITS.maxBytes;
  const maxDepth = opts.maxDepth ?? AEMP_PARSE_LIMITS.maxDepth;
  const size = byteLength(body, maxBytes);
  if (size > maxBytes) return { ok: false, reason: `body is ${size} bytes, over the ${maxBytes}-byte limit; refused (far larger than an ISO 15143-3 page of 100 machines)` };
  const text = payloadText(body).replace(/^\uFEFF/, '').trim();
  if (text === '') return { ok: false, reason: 'empty body: expected an AEMP JSON or XML document' };
  const first = text.charAt(0);
  const format = first === '{' || first === '[' ? 'json' : first === '<' ? 'xml' : undefined;
  if (format === 'json') return parseJson(text, maxDepth);
  if (format === 'xml') return parseXml(text, maxDepth);
  const declared = opts.contentType ? ` (Content-Type ${opts.contentType})` : '';
  return { ok: false, reason: `body is neither JSON nor XML${declared}: starts with ${JSON.stringify(text.slice(0, 40))}` };
}

function parseJson(text: string, maxDepth: number): Tree {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const truncated = endsInsideStructure(text) ? ' (the body looks truncated: it ends inside an unclosed object, array or string)' : '';
    return { ok: false, reason: `invalid JSON: ${message}${truncated}` };
  }
  if (nestedDeeperThan(value, maxDepth)) return { ok: false, reason: `JSON nested deeper than ${maxDepth} levels; refused as hostile or not AEMP` };
  return { ok: true, value };
}

/** Only on the failure path: does the text stop with brackets or a string still open? */
function endsInsideStructure(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return inString || depth > 0;
}

function nestedDeeperThan(value: unknown, limit: number, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= limit) return true;
  for (const child of Array.isArray(value) ? value : Object.values(value)) if (nestedDeeperThan(child, limit, depth + 1)) return true;
  return false;
}

function parseXml(text: string, maxDepth: number): Tree {
  if (/^<!doctype\s+html|^<html[\s>]/i.test(text))
    return { ok: false, reason: 'body is an HTML page, not an AEMP document (a login or error page? check the URL and credentials)' };
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    return { ok: false, reason: 'XML with a DOCTYPE or ENTITY declaration is refused: AEMP documents never need one, and entity expansion is an attack vector' };
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    const truncated = /closed|end|unclosed|not closed/i.test(msg) ? ' (the body may be truncated)' : '';
    return { ok: false, reason: `invalid XML at line ${line}, column ${col}: ${msg}${truncated}` };
  }
  try {
    return { ok: true, value: xmlParser(maxDepth).parse(text) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/nested tags/i.test(message)) return { ok: false, reason: `XML nested deeper than ${maxDepth} levels; refused as hostile or not AEMP` };
    return { ok: false, reason: `invalid XML: ${message}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Tree → document

const K = {
  fleet: aliases('Fleet'),
  equipment: aliases('Equipment'),
  links: aliases('Links', 'Link'),
  header: aliases('EquipmentHeader', 'Header'),
  metadata: aliases('Metadata'),
  snapshotTime: aliases('snapshotTime'),
  version: aliases('version'),
  rel: aliases('rel'),
  href: aliases('href'),
} as const;

/** Keys of an Equipment element that are not data blocks. */
const NON_BLOCK_KEYS = new Set([...K.header, ...K.metadata, ...K.links, '#text', 'datetime']);
/** Keys a document root may carry besides its data. */
const DOCUMENT_KEYS = new Set([...K.links, ...K.version, ...K.snapshotTime, 'schemalocation', '#text', 'xmlns', '?xml']);

interface Classified {
  readonly kind: 'fleet' | 'timeseries';
  readonly node: AempNode;
  readonly equipment: AempNode[];
  readonly hint?: BlockSpec;
  readonly hintName?: string;
}

function buildDocument(root: unknown, opts: AempParseOptions): AempParseResult {
  const w = warningList();
  const { warnings, warningKinds, warn } = w;
  const c = classify(root, opts, warn);
  if ('reason' in c) return { ok: false, reason: c.reason };
  const links = readLinks(c.node, warn);
  if (c.kind === 'fleet') {
    const snapshot = readTime(get(c.node, K.snapshotTime));
    if (snapshot.kind === 'placeholder' || snapshot.kind === 'invalid') warn('value-absent', `snapshotTime ${JSON.stringify(snapshot.raw)} is not a usable time; ignored`);
    const version = readText(get(c.node, K.version));
    return {
      ok: true,
      document: {
        kind: 'fleet',
        ...(snapshot.kind === 'value' ? { snapshotTime: snapshot.time } : {}),
        ...(version.kind === 'value' ? { version: version.text } : {}),
        links,
        equipment: c.equipment.map((node) => readEquipment(node, opts)),
        warnings,
        warningKinds,
      },
    };
  }
  return { ok: true, document: readTimeSeries(c, links, opts, w) };
}

function classify(root: unknown, opts: AempParseOptions, warn: Warn): Classified | { reason: string } {
  if (Array.isArray(root)) {
    // A bare JSON array of equipment elements: tolerated as a fleet without links.
    if (root.length > 0 && root.every((e) => isNode(e) && looksLikeEquipment(e))) return { kind: 'fleet', node: {}, equipment: root as AempNode[] };
    return { reason: 'not an ISO 15143-3 (AEMP 2.0) document: a JSON array that does not hold Equipment elements' };
  }
  if (!isNode(root)) return { reason: `not an ISO 15143-3 (AEMP 2.0) document: expected an object, got ${root === null ? 'null' : typeof root}` };

  let node = root;
  let sawFleet = false;
  let hint: BlockSpec | undefined;
  let hintName: string | undefined;
  // Unwrap `Fleet` (XML root, Samsara's JSON wrapper) and time-series `...Messages` roots.
  for (let i = 0; i < 3; i++) {
    const keys = Object.keys(node).filter((k) => !DOCUMENT_KEYS.has(normKey(k)));
    if (keys.length !== 1) break;
    const key = keys[0] as string;
    const nk = normKey(key);
    const value = node[key];
    const inner = isNode(value) ? value : value === '' ? {} : undefined;
    if (inner === undefined) break;
    if (K.fleet.includes(nk)) {
      sawFleet = true;
      node = mergeAttributes(node, inner);
      continue;
    }
    if (nk.endsWith('messages') && nk.length > 'messages'.length) {
      hintName = key.slice(0, -'messages'.length);
      hint = blockSpecFor(hintName);
      node = mergeAttributes(node, inner);
      continue;
    }
    // `Locations: { Links, Location: [...] }`: a series wrapper named after its element.
    const spec = blockSpecFor(key);
    if (spec && get(inner, aliases('datetime')) === undefined && Object.keys(inner).some((k) => K.links.includes(normKey(k)) || spec.aliases.includes(normKey(k)))) {
      hint = spec;
      hintName = spec.name;
      node = mergeAttributes(node, inner);
      continue;
    }
    break;
  }

  const equipment = findKey(node, K.equipment);
  if (equipment) {
    const list: AempNode[] = [];
    asArray(equipment.value).forEach((e, i) => {
      if (isNode(e)) list.push(e);
      else warn('entry-skipped', `${equipment.key}[${i}] is not an element (${JSON.stringify(e).slice(0, 40)}); skipped`);
    });
    return { kind: 'fleet', node, equipment: list };
  }
  // Snapshots hold one block per element; series hold lists of them.
  const seriesLike =
    opts.expect === 'timeseries' ||
    hintName !== undefined ||
    (opts.expect !== 'fleet' && Object.entries(node).some(([k, v]) => Array.isArray(v) && blockSpecFor(k) !== undefined));
  if (looksLikeEquipment(node) && !seriesLike) return { kind: 'fleet', node: {}, equipment: [node] };
  const hasSeries = Object.keys(node).some((k) => blockSpecFor(k) !== undefined);
  if (hasSeries || hintName !== undefined) return { kind: 'timeseries', node, equipment: [], ...(hint ? { hint } : {}), ...(hintName ? { hintName } : {}) };
  if (sawFleet || findKey(node, K.links)) {
    warn('no-equipment', 'document holds no Equipment elements');
    return { kind: 'fleet', node, equipment: [] };
  }
  return { reason: notAempReason(node) };
}

/** Keeps root-level attributes/keys (Links, version, snapshotTime) when descending into a wrapper. */
function mergeAttributes(outer: AempNode, inner: AempNode): AempNode {
  const extra = Object.keys(outer).filter((k) => DOCUMENT_KEYS.has(normKey(k)) && !(k in inner));
  if (extra.length === 0) return inner;
  const merged: AempNode = { ...inner };
  for (const k of extra) merged[k] = outer[k];
  return merged;
}

function looksLikeEquipment(node: AempNode): boolean {
  return findKey(node, K.header) !== undefined || findKey(node, K.metadata) !== undefined;
}

function notAempReason(node: AempNode): string {
  const keys = Object.keys(node);
  const message = readText(get(node, aliases('message', 'error_description', 'errorMessage')));
  const status = readText(get(node, aliases('status', 'code', 'error')));
  if (message.kind === 'value')
    return `not an AEMP document but an API error${status.kind === 'value' ? ` (${status.text})` : ''}: ${message.text.slice(0, 200)}`;
  if (keys.length === 0) return 'not an ISO 15143-3 (AEMP 2.0) document: it is empty (no Fleet, Equipment or time-series element, not even an empty list)';
  return `not an ISO 15143-3 (AEMP 2.0) document: found keys ${keys.slice(0, 8).map((k) => JSON.stringify(k)).join(', ')}, but no Fleet, Equipment or time-series element`;
}

const NAMED_RELS = aliases('self', 'first', 'prev', 'previous', 'next', 'last');

function readLinks(node: AempNode, warn: Warn): AempLink[] {
  const found = findKey(node, K.links);
  if (!found) return [];
  const links: AempLink[] = [];
  for (const entry of asArray(found.value)) {
    if (!isNode(entry)) {
      warn('entry-skipped', `${found.key}: entry ${JSON.stringify(entry).slice(0, 60)} is not a link object; skipped`);
      continue;
    }
    const rel = readText(get(entry, K.rel));
    const href = readText(get(entry, K.href));
    if (rel.kind === 'value' && href.kind === 'value') {
      links.push({ rel: rel.text.toLowerCase(), href: href.text });
      continue;
    }
    // Tolerated map form: `{ "self": "...", "next": "..." }`.
    let mapped = false;
    for (const [nk, key] of normalizedKeys(entry)) {
      const target = readText(entry[key]);
      if (NAMED_RELS.includes(nk) && target.kind === 'value') {
        links.push({ rel: nk, href: target.text });
        mapped = true;
      }
    }
    if (!mapped) warn('entry-skipped', `${found.key}: link without rel and href (${JSON.stringify(entry).slice(0, 80)}); skipped`);
  }
  return links;
}

// ---------------------------------------------------------------------------------------------
// Equipment

const HEADER_FIELDS: readonly (readonly [keyof AempEquipmentHeader, readonly string[], string])[] = [
  ['oemName', aliases('OEMName', 'Make', 'Manufacturer'), 'OEMName'],
  ['model', aliases('Model'), 'Model'],
  ['equipmentId', aliases('EquipmentID'), 'EquipmentID'],
  ['serialNumber', aliases('SerialNumber', 'SerialNo'), 'SerialNumber'],
  ['pin', aliases('PIN'), 'PIN'],
  ['vin', aliases('VIN'), 'VIN'],
];

const METADATA_FIELDS: readonly (readonly [keyof AempEquipmentHeader, readonly string[], string])[] = [
  ['telematicSerialNumber', aliases('TelematicSerialNumber', 'TelematicsSerialNumber', 'DeviceSerialNumber'), 'TelematicSerialNumber'],
  ['machineId', aliases('MachineId'), 'MachineId'],
  ['unitId', aliases('UnitId'), 'UnitId'],
  ['externalReferenceNumber', aliases('ExternalReferenceNumber', 'ExternalReference'), 'ExternalReferenceNumber'],
];

function readHeader(node: AempNode, warn: Warn): AempEquipmentHeader {
  const header: AempEquipmentHeader = {};
  const headerNode = get(node, K.header);
  const h = isNode(headerNode) ? headerNode : undefined;
  const metaNode = get(node, K.metadata) ?? (h ? get(h, K.metadata) : undefined);
  const m = isNode(metaNode) ? metaNode : undefined;
  const readFields = (from: AempNode | undefined, section: string, fields: typeof HEADER_FIELDS): void => {
    if (!from) return;
    for (const [field, names, label] of fields) {
      const found = findKey(from, names);
      if (!found) continue;
      const t = readText(found.value);
      if (t.kind === 'value') (header as Record<string, unknown>)[field] = t.text;
      else if (t.kind === 'placeholder')
        warn('value-absent', t.raw.trim() === '' ? `${section}.${label} is empty; treated as absent` : `${section}.${label} is the placeholder ${JSON.stringify(t.raw.trim())}; treated as absent`);
    }
  };
  readFields(h, 'EquipmentHeader', HEADER_FIELDS);
  readFields(m, 'Metadata', METADATA_FIELDS);
  // Some feeds put the Trackunit metadata fields straight into the header.
  if (!m) readFields(h, 'EquipmentHeader', METADATA_FIELDS);
  if (h) {
    const install = readTime(get(h, aliases('UnitInstallDateTime')));
    if (install.kind === 'value') header.unitInstallTime = install.time;
    else if (install.kind !== 'absent') warn('value-absent', `EquipmentHeader.UnitInstallDateTime ${JSON.stringify(install.raw)} is ${install.kind === 'placeholder' ? 'a placeholder' : 'not a time'}; treated as absent`);
  }
  return header;
}

/** Identifiers strongest first; see telematics.md §1.3 and §4.7 for why SerialNumber is distrusted. */
function identifiersOf(header: AempEquipmentHeader, warn: Warn): SourceIdentifier[] {
  const ids: SourceIdentifier[] = [];
  const add = (type: IdentifierType, value: string | undefined): void => {
    if (value === undefined) return;
    const n = normalizeIdentifier(value);
    if (!ids.some((id) => id.type === type && normalizeIdentifier(id.value) === n)) ids.push({ type, value });
  };
  add('external-ref', header.externalReferenceNumber);
  add('machine-id', header.machineId);
  add('pin', header.pin);
  add('vin', header.vin);
  if (header.serialNumber !== undefined) {
    // Trackunit puts the device serial into SerialNumber when the machine serial is unknown.
    if (header.telematicSerialNumber !== undefined && normalizeIdentifier(header.serialNumber) === normalizeIdentifier(header.telematicSerialNumber))
      warn('value-assumed', `EquipmentHeader.SerialNumber ${JSON.stringify(header.serialNumber)} is the telematics device serial; used as device-serial only`);
    else add('serial', header.serialNumber);
  }
  add('unit-id', header.unitId);
  add('device-serial', header.telematicSerialNumber);
  if (ids.length === 0 && header.equipmentId !== undefined) {
    warn('value-assumed', `no PIN, serial or Metadata id; using the free-text EquipmentID ${JSON.stringify(header.equipmentId)} as serial`);
    add('serial', header.equipmentId);
  }
  return ids;
}

function readEquipment(node: AempNode, opts: AempParseOptions): AempEquipment {
  const { warnings, warningKinds, warn } = warningList();
  const header = readHeader(node, warn);
  const ids = identifiersOf(header, warn);
  const fragments: Fragment[] = [];
  const found: BlocksFound = { unusable: [], blocks: new Set() };
  for (const [nk, key] of normalizedKeys(node)) {
    if (NON_BLOCK_KEYS.has(nk)) continue;
    fragments.push(...readBlocks(key, node[key], warn, found));
  }
  const events = assemble(fragments, ids, opts, warn);
  if (ids.length === 0) warn('no-identifier', 'no usable identifier (PIN, SerialNumber, EquipmentID and Metadata ids are missing or placeholders); its events cannot be matched to an asset');
  return { header, ids, events, raw: node, warnings, warningKinds, unusable: found.unusable, blocks: found.blocks };
}

/** The blocks an element's reading met, and those of them that gave nothing. */
interface BlocksFound {
  readonly unusable: UnusableBlock[];
  readonly blocks: Set<unknown>;
}

function readBlocks(key: string, value: unknown, warn: Warn, found?: BlocksFound): Fragment[] {
  const spec = blockSpecFor(key);
  if (spec)
    return blockEntries(spec, value).flatMap((e) => {
      const blockKey = e.key === '' ? key : e.key;
      if (!found) return spec.read(e.block, blockKey, warn);
      found.blocks.add(e.block);
      const reasons: string[] = [];
      const fragments = spec.read(e.block, blockKey, (kind, message, replayable) => {
        if (kind === 'reading-left-out' && replayable !== false) reasons.push(message);
        warn(kind, message);
      });
      if (fragments.length === 0 && reasons.length > 0) found.unusable.push({ key: blockKey, block: e.block, reasons });
      return fragments;
    });
  return asArray(value).flatMap((entry) => {
    if (!isNode(entry)) return [];
    found?.blocks.add(entry);
    return readExtensionBlock(entry, key);
  });
}

function readTimeSeries(c: Classified, links: AempLink[], opts: AempParseOptions, { warnings, warningKinds, warn }: ReturnType<typeof warningList>): AempDocument {
  const named = findKey(c.node, K.header) !== undefined || findKey(c.node, K.metadata) !== undefined;
  const ids = named ? identifiersOf(readHeader(c.node, warn), warn) : [...(opts.ids ?? [])];
  const fragments: Fragment[] = [];
  const found: BlocksFound = { unusable: [], blocks: new Set() };
  let dataElement = c.hint?.name;
  for (const [nk, key] of normalizedKeys(c.node)) {
    if (NON_BLOCK_KEYS.has(nk) || DOCUMENT_KEYS.has(nk)) continue;
    const spec = blockSpecFor(key);
    // Inside a `...Messages` root, unknown series (extended data) are read like extension blocks.
    if (!spec && c.hintName === undefined) continue;
    dataElement ??= spec?.name ?? key;
    fragments.push(...readBlocks(key, c.node[key], warn, found));
  }
  dataElement ??= c.hintName ?? 'unknown';
  const events = assemble(fragments, ids, opts, warn);
  if (ids.length === 0) {
    // The page does not name its machine, but its own link usually does (`.../Equipment/ID/<pin>/<element>/...`).
    const asked = askedIdentifier(links);
    const hint = asked === undefined ? '' : `; its self link asks by "${asked}": --id pin:${asked}, or device-serial:${asked} for a machine without a PIN`;
    warn('no-identifier', `time-series document names no equipment; pass the identifier it was requested with ('assetbridge aemp parse --id TYPE:VALUE'${hint})`);
  }
  return { kind: 'timeseries', dataElement, links, ids, events, unusable: found.unusable, warnings, warningKinds };
}

/** The machine identifier a time-series page's self link was asked by (`.../Equipment/[ID/]<id>/<element>/<from>/<to>/<page>`). */
function askedIdentifier(links: readonly AempLink[]): string | undefined {
  const self = links.find((l) => l.rel.toLowerCase() === 'self')?.href;
  const m = self === undefined ? null : /\/Equipment\/(?:ID\/)?([^/?#]+)\/[^/?#]+\/[^/?#]+\/[^/?#]+\/\d+(?:[?#]|$)/i.exec(self);
  if (!m?.[1]) return undefined;
  try {
    const id = decodeURIComponent(m[1]).trim();
    return id === '' || /\s/.test(id) ? undefined : id;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Fragments → canonical events

const KIND_ORDER: Readonly<Record<CanonicalEvent['kind'], number>> = { position: 0, meter: 1, sensor: 2, alert: 3, workorder: 4, watermark: 5 };

type Mutable<T> = { -readonly [P in keyof T]: T[P] };

/**
 * Groups fragments into events: meter blocks with the same datetime form one MeterEvent (different
 * datetimes stay separate), sensor blocks likewise; each position and fault is its own event.
 */
function assemble(fragments: readonly Fragment[], ids: readonly SourceIdentifier[], opts: AempParseOptions, warn: Warn): CanonicalEvent[] {
  const base = (eventTime: number) => ({ source: opts.source, ids, eventTime, receivedAt: opts.receivedAt });
  const events: CanonicalEvent[] = [];
  const positions: Mutable<PositionEvent>[] = [];
  const meters = new Map<number, { event: Mutable<MeterEvent>; units: Record<string, string>; raw: Record<string, unknown> }>();
  const sensors = new Map<number, { values: Record<string, SensorValue>; raw: Record<string, unknown> }>();
  const iso = (t: number) => new Date(t).toISOString();

  for (const f of fragments) {
    switch (f.kind) {
      case 'position': {
        const p: Mutable<PositionEvent> = { kind: 'position', ...base(f.eventTime), lat: f.lat, lng: f.lng, raw: { [f.rawKey]: f.raw } };
        if (f.altM !== undefined) p.altM = f.altM;
        positions.push(p);
        break;
      }
      case 'accuracy':
        break; // attached below, once all positions are known
      case 'meter': {
        let group = meters.get(f.eventTime);
        if (!group) {
          group = { event: { kind: 'meter', ...base(f.eventTime) }, units: {}, raw: {} };
          meters.set(f.eventTime, group);
        }
        const previous = group.event[f.field];
        if (previous !== undefined && previous !== f.value) warn('value-assumed', `${f.rawKey}: two values for ${f.field} at ${iso(f.eventTime)} (${previous}, ${f.value}); kept the later one`);
        group.event[f.field] = f.value;
        if (f.originalUnit !== undefined) group.units[f.field] = f.originalUnit;
        else delete group.units[f.field];
        group.raw[f.rawKey] = f.raw;
        break;
      }
      case 'sensor': {
        let group = sensors.get(f.eventTime);
        if (!group) {
          group = { values: {}, raw: {} };
          sensors.set(f.eventTime, group);
        }
        group.values[f.name] = f.value;
        group.raw[f.rawKey] = f.raw;
        break;
      }
      case 'alert':
        events.push({ kind: 'alert', ...base(f.eventTime), reason: f.reason, severity: f.severity, ...(f.code !== undefined ? { code: f.code } : {}), raw: { [f.rawKey]: f.raw } });
        break;
    }
  }

  for (const f of fragments) {
    if (f.kind !== 'accuracy') continue;
    const target = f.eventTime === undefined ? (positions.length === 1 ? positions[0] : undefined) : positions.find((p) => p.eventTime === f.eventTime);
    if (target) target.accuracyM = f.accuracyM;
  }
  events.push(...positions);
  for (const { event, units, raw } of meters.values()) {
    const fields: MeterField[] = ['operatingHours', 'idleHours', 'odometerKm', 'fuelUsedL'];
    if (!fields.some((f) => event[f] !== undefined)) continue;
    if (Object.keys(units).length > 0) event.originalUnits = units;
    event.raw = raw;
    events.push(event);
  }
  for (const [eventTime, { values, raw }] of sensors) events.push({ kind: 'sensor', ...base(eventTime), values, raw } satisfies SensorEvent);

  // Stable: equal times keep kind order, then document order.
  return events.sort((a, b) => a.eventTime - b.eventTime || KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
}
