/**
 * `assetbridge aemp parse FILE...`: runs saved ISO 15143-3 (AEMP 2.0) responses through the same
 * parser the poller uses and prints the canonical events, so a feed's dialect can be checked
 * before it is configured (or a quarantined page understood) without any service running.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { AEMP_PARSE_LIMITS, parseAempDocument, type AempDocument, type AempEquipment, type AempParseOptions } from '../../adapters/telematics/aemp/aemp-parser.js';
import { whyUnreadable } from '../../config/unreadable-file.js';
import { UsageError } from '../../core/errors/errors.js';
import { IDENTIFIER_TYPES, type CanonicalEvent, type IdentifierType, type SourceIdentifier } from '../../core/model/events.js';
import { validateEvent } from '../../core/normalize/validate.js';
import { parseIsoTime } from '../../core/normalize/iso-time.js';
import { action, isoTime, toJson } from '../context.js';

/** Where the command reads and writes; injectable for tests. */
export interface AempParseIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readFile: (path: string) => Promise<Uint8Array>;
  readonly now: () => number;
}

const processIo: AempParseIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  readFile: (p) => readFile(p),
  now: () => Date.now(),
};

export interface AempParseCommandOptions {
  /** Source name stamped on events. @default 'aemp:file' */
  readonly source: string;
  /** ISO time used as `receivedAt` (and as "now" for validation). @default the current time */
  readonly receivedAt?: string;
  /** `type:value` identifiers for time-series pages that do not name their equipment. */
  readonly id?: readonly string[];
  readonly expect?: string;
  /** Include each event's `raw` block. @default false */
  readonly raw?: boolean;
  /** Report events validation would quarantine. @default true */
  readonly validate?: boolean;
  readonly maxBytes?: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = { '.json': 'application/json', '.xml': 'application/xml' };

/** Parses each file; returns the exit code (1 when any file was rejected or unreadable). */
export async function runAempParse(files: readonly string[], opts: AempParseCommandOptions, io: AempParseIo = processIo): Promise<number> {
  const receivedAt = parseReceivedAt(opts.receivedAt, io.now());
  const base: AempParseOptions = {
    source: opts.source,
    receivedAt,
    ...(opts.id?.length ? { ids: opts.id.map(parseIdentifier) } : {}),
    ...(opts.expect !== undefined ? { expect: parseExpect(opts.expect) } : {}),
    ...(opts.maxBytes !== undefined ? { maxBytes: parsePositive(opts.maxBytes, '--max-bytes') } : {}),
  };
  let rejected = 0;
  for (const file of files) {
    let body: Uint8Array;
    try {
      body = await io.readFile(file);
    } catch (err) {
      io.stderr(`${file}: rejected: cannot read the file (${whyUnreadable(err)}): ${unreadableFix(err)}\n`);
      rejected++;
      continue;
    }
    // Said here, with the option to raise it: the parser's own refusal names no setting.
    const limit = base.maxBytes ?? AEMP_PARSE_LIMITS.maxBytes;
    if (body.byteLength > limit) {
      io.stderr(`${file}: rejected: the file is ${body.byteLength} bytes, over the ${limit}-byte limit; to parse it, give --max-bytes ${body.byteLength}\n`);
      rejected++;
      continue;
    }
    const contentType = CONTENT_TYPES[extname(file).toLowerCase()];
    const result = parseAempDocument(body, { ...base, ...(contentType ? { contentType } : {}) });
    if (!result.ok) {
      io.stderr(`${file}: rejected: ${result.reason}\n`);
      rejected++;
      continue;
    }
    report(file, result.document, opts, receivedAt, io);
  }
  return rejected > 0 ? 1 : 0;
}

function report(file: string, doc: AempDocument, opts: AempParseCommandOptions, now: number, io: AempParseIo): void {
  for (const w of doc.warnings) io.stderr(`${file}: warning: ${w}\n`);
  const print = (events: readonly CanonicalEvent[], where: string): number => {
    for (const event of events) {
      io.stdout(`${toJson(opts.raw ? event : withoutRaw(event), 0)}\n`);
      if (opts.validate !== false) {
        const v = validateEvent(event, now);
        if (!v.ok) io.stderr(`${file}: ${where}would be quarantined (${v.code}): ${event.kind} at ${isoTime(event.eventTime)}: ${v.reason}\n`);
      }
    }
    return events.length;
  };
  if (doc.kind === 'timeseries') {
    const n = print(doc.events, '');
    io.stderr(`${file}: time series ${doc.dataElement}, ${n} events, ${doc.links.length} links\n`);
    return;
  }
  let total = 0;
  doc.equipment.forEach((eq, i) => {
    const where = `equipment ${i + 1} (${label(eq)}): `;
    for (const w of eq.warnings) io.stderr(`${file}: ${where}warning: ${w}\n`);
    total += print(eq.events, where);
  });
  io.stderr(`${file}: fleet, ${doc.equipment.length} equipment, ${total} events, ${doc.links.length} links\n`);
}

function label(eq: AempEquipment): string {
  const h = eq.header;
  return h.pin ?? h.vin ?? h.serialNumber ?? h.equipmentId ?? eq.ids[0]?.value ?? 'no identifier';
}

function withoutRaw(event: CanonicalEvent): Omit<CanonicalEvent, 'raw'> {
  const { raw: _raw, ...rest } = event;
  return rest;
}

function parseReceivedAt(input: string | undefined, now: number): number {
  if (input === undefined) return now;
  // Strict: Date.parse reads "10" as 2001-10-01, rolls 30 February over and takes a zoneless time as local.
  const t = parseIsoTime(input);
  if (typeof t !== 'number') throw new UsageError(`--received-at "${input}" is not a date and time with a zone; use ISO 8601, e.g. 2025-03-04T06:00:00Z`);
  return t;
}

function parseIdentifier(input: string): SourceIdentifier {
  const at = input.indexOf(':');
  const type = input.slice(0, at);
  const value = input.slice(at + 1).trim();
  if (at <= 0 || value === '' || !IDENTIFIER_TYPES.includes(type as IdentifierType))
    throw new UsageError(`--id "${input}" must be TYPE:VALUE with TYPE one of ${IDENTIFIER_TYPES.join(', ')} (e.g. pin:VCEC220EP00312874)`);
  return { type: type as IdentifierType, value };
}

/** What to do about a file that cannot be read, by why (see {@link whyUnreadable}). */
function unreadableFix(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'EACCES' || code === 'EPERM') return 'give your user read access to it';
  if (code === 'EISDIR') return 'name the files in it (a shell glob such as dir/*.json does)';
  return 'check the path (a relative one is taken from the current directory): give saved AEMP documents, JSON or XML';
}

function parseExpect(input: string): 'fleet' | 'timeseries' {
  if (input === 'fleet' || input === 'timeseries') return input;
  throw new UsageError(`--expect must be fleet or timeseries, got "${input}"`);
}

function parsePositive(input: string, flag: string): number {
  const n = Number(input);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number, got "${input}"`);
  return n;
}

function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const HELP_AFTER = `
Prints one canonical event per line (JSON) on stdout; warnings, per-file summaries and
rejections go to stderr, each prefixed with the file name. Exits 1 when any file was rejected.
The format is sniffed (JSON or XML, any AEMP dialect); .json/.xml extensions are a hint.

Examples:
  assetbridge aemp parse fleet-page1.xml fleet-page2.xml
  assetbridge aemp parse --id pin:VCEC220EP00312874 hours-series.json
  assetbridge aemp parse page.json | jq 'select(.kind == "meter")'`;

/**
 * Registers `aemp parse` under the `aemp` command group (creating the group if no other `aemp`
 * command registered it first).
 */
export function registerAempParseCommand(program: Command, io: AempParseIo = processIo): Command {
  const aemp = program.commands.find((c) => c.name() === 'aemp') ?? program.command('aemp').description('ISO 15143-3 (AEMP 2.0) telematics feeds');
  return aemp
    .command('parse')
    .description('parse saved AEMP fleet, equipment or time-series documents and print the canonical events')
    .argument('<files...>', 'AEMP documents (JSON or XML)')
    .option('--source <name>', 'source name stamped on the events', 'aemp:file')
    .option('--received-at <time>', 'receive time for the events and for validation (ISO 8601; default: now)')
    // Repeatable rather than variadic: a variadic option would swallow the file names after it.
    .option('--id <type:value>', 'identifier for time-series pages that do not name their equipment, e.g. pin:VCEC220EP00312874 (repeatable)', collect)
    .option('--expect <kind>', 'what the documents are, when a page is ambiguous: fleet or timeseries')
    .option('--raw', 'include each event\'s raw source block')
    .option('--no-validate', 'do not report events that validation would quarantine')
    .option('--max-bytes <n>', 'largest document accepted, bytes (default 16 MiB)')
    .addHelpText('after', HELP_AFTER)
    .action(
      action(async (files: string[], opts: AempParseCommandOptions) => {
        const code = await runAempParse(files, opts, io);
        if (code !== 0) process.exitCode = code;
      }),
    );
}
