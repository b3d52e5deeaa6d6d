/**
 * The HTTP edge: event intake (`POST /v1/events`), ERP work-order webhooks, health, readiness,
 * Prometheus metrics and a JSON status. Intake answers 2xx only after the events are committed
 * (invariant 1); bad items get a 400 with a per-item reason and are quarantined, not lost.
 * @module
 */
import { toJson } from '../core/iso-json.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { bodyLimit } from 'hono/body-limit';
import { Counter, Registry } from 'prom-client';
import { redactString } from '../adapters/log/logger.js';
import { scrubSecretValues } from '../adapters/http/redact.js';
import { storeErrorAdvice, storeErrorCode } from '../core/errors/store-errors.js';
import type { RawMessage } from '../core/model/messages.js';
import { notJsonHint } from '../core/normalize/decoder.js';
import { itemPayload, jsonItems } from '../core/normalize/json-items.js';
import { durationText } from '../config/duration.js';
import { pushedKeys, readPushedRecords, type PushReader } from '../engine/work-order-push.js';
import { feedbackSource } from '../core/rules/maintenance/work-order.js';
import type { IngestSink } from '../ports/source.js';
import { RefusalLog } from './refusal-log.js';
import { checkWebhookSignature, type SignatureFault } from './webhook-signature.js';

export interface StatusProvider {
  /** Liveness: the process is up. Readiness: the engine is running. */
  ready(): boolean;
  /** Why it is not ready (starting and what it waits for, stopping), for the 503's body. */
  notReadyBecause?(): string | undefined;
  status(): Promise<Record<string, unknown>>;
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly sink: IngestSink;
  readonly status: StatusProvider;
  /** Intake; absent = `POST /v1/events` is disabled (404). */
  readonly intake?: { readonly token: string; readonly bodyLimitBytes: number; readonly maxEvents: number; readonly maxBacklog?: number };
  /** Work-order webhooks by destination name (those whose connector reads pushes). */
  readonly webhooks?: ReadonlyMap<string, WebhookEndpoint>;
  /**
   * Where the work orders of these business keys were opened (their destination), for those known
   * (`openedAtOf`, the outbox): a push's update of one opened at another destination is ignored.
   * Absent: every update is submitted (and the maintenance rule holds it to its destination).
   */
  readonly openedAt?: (businessKeys: readonly string[]) => Promise<ReadonlyMap<string, string>>;
  readonly now: () => number;
  /** Where refused webhook pushes, intake POSTs refused for their token and pushed updates ignored as not this destination's are logged (a warning per kind, at most once a minute: see {@link RefusalLog}). */
  readonly logger?: { warn(fields: Record<string, unknown>, message: string): void; error?(fields: Record<string, unknown>, message: string): void };
  /**
   * The config's credential values (`configuredSecretValues`): scrubbed, as in the service log,
   * from an error's message before an answer quotes it.
   */
  readonly secrets?: () => Iterable<string | undefined>;
}

export interface WebhookEndpoint extends PushReader {
  /**
   * HMAC-SHA256 key: bodies must be signed in `signatureHeader` (hex or base64, `sha256=` prefix
   * optional). Absent: the intake bearer token is required.
   */
  readonly secret?: string;
  /** While the secret is being replaced: the one before it, also accepted. */
  readonly previousSecret?: string;
  readonly signatureHeader: string;
  /** Header with the push's Unix time in seconds, signed with the body (`<timestamp>.<body>`); absent: the body alone is signed. */
  readonly timestampHeader?: string;
  /** How far a timestamped push may be from this host's clock. @default 5 min */
  readonly toleranceMs?: number;
  /** Where its settings are in the config (`destinations.0.webhook`), for messages. @default webhook */
  readonly configKey?: string;
}

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** How far a timestamped push may be from this host's clock when the endpoint does not say. */
export const DEFAULT_WEBHOOK_TOLERANCE_MS = 300_000;

/** A push as {@link authorizeWebhook} reads it. */
export interface WebhookRequest {
  /** The body as sent. */
  readonly body: string | Uint8Array;
  /** A request header by name (any case). */
  header(name: string): string | undefined;
  /** This host's clock, in ms. */
  readonly now: number;
}

/**
 * Why a webhook call is refused (status and message), or undefined when it may proceed. Messages name config keys, never a secret.
 * A 401 comes with its `WWW-Authenticate` challenge (RFC 9110 requires one): a bearer token's as RFC 6750 writes
 * it, or for a signed push `HMAC-SHA256` naming the headers the signature (and its timestamp) go in.
 */
export function authorizeWebhook(
  destination: string,
  hook: Omit<WebhookEndpoint, 'parse'>,
  intakeToken: string | undefined,
  request: WebhookRequest,
): { status: 401 | 403; error: string; fault: SignatureFault['fault'] | 'no-token' | 'off'; challenge?: string } | undefined {
  if (hook.secret !== undefined) {
    const toleranceMs = hook.toleranceMs ?? DEFAULT_WEBHOOK_TOLERANCE_MS;
    const secrets = hook.previousSecret !== undefined ? [hook.secret, hook.previousSecret] : [hook.secret];
    const signing = { secrets, toleranceMs, ...(hook.timestampHeader !== undefined ? { timestampHeader: hook.timestampHeader } : {}) };
    const fault = checkWebhookSignature(signing, request.body, (name) => request.header(name), hook.signatureHeader, request.now);
    if (fault === undefined) return undefined;
    // A name no request could carry (a space, a quote: the config refuses them, a caller building endpoints itself may not) is left out rather than breaking the header.
    const param = (name: string, value: string | undefined) => (value !== undefined && HEADER_NAME.test(value) ? [`${name}="${value}"`] : []);
    const challenge = ['HMAC-SHA256', [...param('header', hook.signatureHeader), ...param('timestamp', hook.timestampHeader)].join(', ')].join(' ').trim();
    return { status: 401, error: signatureFaultMessage(fault, destination, hook, toleranceMs), fault: fault.fault, challenge };
  }
  if (intakeToken !== undefined) {
    const sent = bearerCredential(request.header('authorization'));
    if (sent !== undefined && sameSecret(sent, intakeToken)) return undefined;
    // RFC 6750: no error code when no credential came, invalid_token for another one.
    const challenge = sent === undefined ? 'Bearer realm=""' : 'Bearer error="invalid_token"';
    return { status: 401, error: 'missing or wrong bearer token; send Authorization: Bearer <sources.http.token>, or sign the body (webhook.secret on the destination)', fault: 'no-token', challenge };
  }
  return { status: 403, error: `work-order webhooks for destination "${destination}" are off: set webhook.secret on the destination (signed pushes) or sources.http.token (bearer token)`, fault: 'off' };
}

/** What a refused signature was checked against and what to send instead, naming config keys (never a secret). */
function signatureFaultMessage(fault: SignatureFault, destination: string, hook: Omit<WebhookEndpoint, 'parse'>, toleranceMs: number): string {
  const key = hook.configKey ?? 'webhook';
  const of = `destination "${destination}"`;
  const ts = hook.timestampHeader;
  const signed = ts === undefined ? 'the HMAC-SHA256 of the body as sent' : `the HMAC-SHA256 of "<${ts}>.<body>" (the ${ts} value, a dot, the body as sent)`;
  const keyedWith = `${key}.secret${hook.previousSecret !== undefined ? ` (or ${key}.previousSecret)` : ''} of ${of}`;
  const format = 'as 64 hex digits or base64, optionally prefixed sha256=';
  const tolerance = `${key}.toleranceMs (${durationText(toleranceMs)})`;
  switch (fault.fault) {
    case 'no-signature':
      return `missing ${hook.signatureHeader} header: send ${signed}, keyed with ${keyedWith}, ${format}`;
    case 'not-a-digest':
      return `${hook.signatureHeader} header holds no HMAC-SHA256 digest: send ${signed}, keyed with ${keyedWith}, ${format}`;
    case 'mismatch':
      return `wrong signature in ${hook.signatureHeader}: it is not ${signed} keyed with ${keyedWith}`;
    case 'no-timestamp':
      return `missing ${ts ?? ''} header: pushes to ${of} are timestamped (${key}.timestampHeader): send the Unix time in seconds there, and sign "<timestamp>.<body>"`;
    case 'bad-timestamp':
      return `${ts ?? ''} header "${fault.value}" is not a Unix time in seconds${fault.milliseconds ? ' (it reads as milliseconds: send seconds)' : ''} (${key}.timestampHeader of ${of})`;
    case 'stale':
      return `push refused as a possible replay: its ${ts ?? ''} is ${durationText(Math.round(fault.skewMs / 1000) * 1000)} old, more than ${tolerance} allows; a genuine push this old means the ERP's or this host's clock is off, or the ERP resent it without signing it afresh (or raise ${key}.toleranceMs)`;
    case 'future':
      return `push refused: its ${ts ?? ''} is ${durationText(Math.round(fault.skewMs / 1000) * 1000)} ahead of this host's clock, more than ${tolerance} allows; check the clocks of the ERP and this host (or raise ${key}.toleranceMs)`;
  }
}

/**
 * The credential of an `Authorization: Bearer <token>` header, whatever characters the configured
 * token has (RFC 6750 allows fewer than a config may hold: `!`, `#`, `$`); undefined when the
 * header is no Bearer one.
 */
function bearerCredential(header: string | undefined): string | undefined {
  const credential = /^Bearer\s+(.*)$/is.exec(header ?? '')?.[1]?.trim();
  return credential === undefined || credential === '' ? undefined : credential;
}

/**
 * The address of the peer a request came from, as its socket has it (undefined without one: a
 * request made in-process). `X-Forwarded-For` is not read: no setting says which proxy to trust,
 * and whoever sends a refused request could write any address there.
 */
function clientAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: IncomingMessage; server?: { incoming?: IncomingMessage } } | undefined;
  const incoming = (env?.server ?? env)?.incoming;
  if (incoming === undefined) return undefined;
  // Kept from the request's start: a socket the client has closed no longer knows its peer.
  const known = peers.get(incoming);
  if (known !== undefined) return known;
  const address = incoming.socket.remoteAddress;
  if (address !== undefined) peers.set(incoming, address);
  return address;
}

/** Each request's client address, read as it arrived (see {@link clientAddress}). */
const peers = new WeakMap<IncomingMessage, string>();

/** `{ client }` for a refusal's log line, or nothing when the address is not known. */
function clientField(c: Context): { client?: string } {
  const client = clientAddress(c);
  return client === undefined ? {} : { client };
}

/**
 * Whether `err` is the client closing its connection before the request's body was complete: Node
 * aborts the body's stream (`aborted`, ECONNRESET), and the request is left incomplete.
 */
function bodyCut(c: Context, err: Error): boolean {
  const env = c.env as { incoming?: IncomingMessage; server?: { incoming?: IncomingMessage } } | undefined;
  const incoming = (env?.server ?? env)?.incoming;
  if (incoming === undefined || incoming.complete) return false;
  return (err as NodeJS.ErrnoException).code === 'ECONNRESET' || incoming.destroyed || incoming.socket.destroyed;
}

/** Constant-time comparison of two secrets of any length. */
function sameSecret(a: string, b: string): boolean {
  const digest = (x: string) => createHash('sha256').update(x).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function createHttpApp(opts: HttpServerOptions): Hono {
  const app = new Hono();
  // An error's message may quote what it was given (a URL with its password, a header): an answer
  // quotes it redacted as a log line does, so a secret never reaches an HTTP response.
  const shown = (err: unknown): string => redactString(scrubSecretValues(err instanceof Error ? err.message : String(err), opts.secrets?.() ?? []));
  // The client's address, noted while its socket is open: a request refused once the client has
  // hung up (a body cut short) is still logged with it.
  app.use(async (c, next) => {
    clientAddress(c);
    await next();
  });
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', (c) => {
    if (opts.status.ready()) return c.json({ ready: true });
    const reason = opts.status.notReadyBecause?.();
    return c.json({ ready: false, ...(reason !== undefined ? { reason } : {}) }, 503);
  });
  // Refused pushes are logged once a minute per kind (see below): counted here, each one.
  const served = new Registry();
  const refusedPushes = new Counter({
    name: 'assetbridge_webhook_pushes_refused_total',
    help: 'Work-order pushes refused, by destination and reason (no-webhook: a path naming no destination that takes pushes, counted under destination ""; else the signature, timestamp or token fault), since the process started. The service log has one line per destination and reason a minute, with how many more.',
    labelNames: ['destination', 'reason'],
    registers: [served],
  });
  // Likewise intake POSTs refused for their Authorization header: a sender with a stale token.
  const refusedPosts = new Counter({
    name: 'assetbridge_intake_posts_refused_total',
    help: 'POST /v1/events refused for its Authorization header, by reason (no-token: none sent; malformed: no Bearer credential; wrong-token: another token than sources.http.token), since the process started. The service log has one line per reason a minute, with how many more.',
    labelNames: ['reason'],
    registers: [served],
  });
  // And requests whose client hung up before their body came whole.
  const cutBodies = new Counter({
    name: 'assetbridge_http_bodies_cut_total',
    help: 'Requests whose client closed the connection before their body was complete (nothing of them was taken), by route, since the process started. The service log has one line per path a minute, with how many more.',
    labelNames: ['route'],
    registers: [served],
  });
  // Anyone reaching the port can cause refusals: one line per kind and minute, with how many more.
  const refusals = new RefusalLog(opts.logger, opts.now);
  app.get('/metrics', async (c) => c.text((await opts.status.metrics()) + (await served.metrics()), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }));
  // Times as ISO 8601, as in `assetbridge status --json`.
  app.get('/v1/status', async (c) => c.body(toJson(await opts.status.status()), 200, { 'content-type': 'application/json' }));

  const intake = opts.intake;
  // Intake POSTs and work-order pushes whose bodies are being read: each counts as one event
  // against maxBacklog until its body is here (then it is checked again, with nothing awaited
  // before its submit, when the sink counts its events), so requests read at once cannot all pass the check.
  let reading = 0;
  if (!intake) {
    app.post('/v1/events', (c) => c.json({ error: 'event intake is off: set sources.http.token in the config (then send Authorization: Bearer <token>)' }, 404));
  }
  if (intake) {
    const guard = [
      // Not hono's bearerAuth: it refuses as malformed a token with a character outside RFC 6750's
      // set, so a configured token such as "Zx9!k#Qm$2@pL" could never be sent.
      createMiddleware(async (c, next) => {
        // Refused: counted, and logged once a minute per reason (the operator sees that a sender's token is off).
        const refuse = (reason: 'no-token' | 'malformed' | 'wrong-token', status: 400 | 401, error: string, challenge: string) => {
          refusedPosts.inc({ reason });
          refusals.warn(`intake ${reason}`, { status, reason: error, ...clientField(c) }, `event POST to ${c.req.path} refused`);
          return c.json({ error }, status, { 'www-authenticate': challenge });
        };
        const header = c.req.header('authorization');
        if (header === undefined || header === '') return refuse('no-token', 401, 'missing bearer token; send Authorization: Bearer <sources.http.token>', 'Bearer realm=""');
        const sent = bearerCredential(header);
        if (sent === undefined) return refuse('malformed', 400, 'malformed Authorization header; send Authorization: Bearer <sources.http.token>', 'Bearer error="invalid_request"');
        if (!sameSecret(sent, intake.token))
          return refuse('wrong-token', 401, 'wrong bearer token; send Authorization: Bearer <sources.http.token> (the token in the service configuration)', 'Bearer error="invalid_token"');
        await next();
      }),
      bodyLimit({
        maxSize: intake.bodyLimitBytes,
        onError: (c) =>
          c.json({ error: `body exceeds ${intake.bodyLimitBytes} bytes (sources.http.bodyLimitBytes): split the events into smaller POSTs (or raise sources.http.bodyLimitBytes); nothing of this POST was taken` }, 413),
      }),
    ] as const;

    app.post('/v1/events', ...guard, async (c) => {
      // Storing is behind (a slow disk, a flood): refuse rather than queue without bound.
      const behind = (waiting: number) => behindAnswer(c, waiting, max, 'POST');
      const max = intake.maxBacklog ?? Infinity;
      const waiting = (opts.sink.backlog?.() ?? 0) + reading;
      if (waiting >= max) return behind(waiting);
      // A compressed body would be read as bytes that are not text, and quarantined as such.
      const compressed = compressedAnswer(c, 'POST');
      if (compressed) return compressed;
      reading++;
      let body;
      try {
        body = await readIntakeBody(c.req.arrayBuffer(), c.req.header('content-type'), opts.now);
      } finally {
        reading--;
      }
      if ('unsupported' in body) return c.json({ error: body.unsupported }, 415);
      const { text, items, error, setAside, receivedAt } = body;
      if (items.length > intake.maxEvents) {
        return c.json({ error: `${items.length} events in one POST; the limit is ${intake.maxEvents} (sources.http.maxEvents): split them into smaller POSTs; nothing of this POST was taken` }, 413);
      }
      // Again now that the body is here, with nothing awaited between this check and the submit.
      const backlog = opts.sink.backlog?.() ?? 0;
      if (backlog >= max) return behind(backlog);
      const notStored = (err: unknown) => notStoredAnswer(c, shown, err, 'POST');
      const empty = emptyAnswer(c, text, 'POST');
      if (empty) return empty;
      if (error) {
        // Keep the body: it is quarantined with the reason, so nothing is lost.
        const r = await opts.sink.submit([{ source: 'http', channel: '/v1/events', payload: text, receivedAt, ...asideFor(setAside) }]).catch(asError);
        if (r instanceof Error) return notStored(r);
        return c.json({ error, accepted: 0, rejected: r.quarantined, note: UNREAD_POST_NOTE }, 400);
      }
      const messages: RawMessage[] = items.map((item) => ({ source: 'http', channel: '/v1/events', payload: itemPayload(item), receivedAt }));
      const result = await opts.sink.submit(messages).catch(asError);
      if (result instanceof Error) return notStored(result);
      if (result.quarantined.length) {
        // The events wrapped in an object ({"events": [...]}): read as one event with no asset, which the reason alone does not tell.
        const wrapper = wrappingKey(items);
        const rejected = wrapper === undefined ? result.quarantined : result.quarantined.map((q) => ({ ...q, reason: `${q.reason}; the body is one object whose "${wrapper}" holds a list: send the list itself as the body ([{…}, {…}])` }));
        return c.json({ accepted: result.accepted, rejected, note: PARTLY_TAKEN_NOTE }, 400);
      }
      return c.json({ accepted: result.accepted }, 202);
    });
  }

  // ERP work-order status pushes: the destination's connector reads its ERP's format; each update
  // becomes a canonical `workorder` event through the normal pipeline (as polled feedback does).
  const hooks = opts.webhooks ?? new Map<string, WebhookEndpoint>();
  const webhookBodyLimit = intake?.bodyLimitBytes ?? 1_048_576;
  // Without sources.http, its default: signed pushes are taken then too, and must not queue without bound.
  const webhookMaxBacklog = intake ? intake.maxBacklog : 50_000;
  app.post(
    '/v1/webhooks/:destination/work-orders',
    bodyLimit({
      maxSize: webhookBodyLimit,
      onError: (c) =>
        c.json(
          {
            error: `body exceeds ${webhookBodyLimit} bytes (${intake ? 'sources.http.bodyLimitBytes' : 'the default of sources.http.bodyLimitBytes, as sources.http is not set'}); send fewer updates per push (nothing of this push was taken)`,
          },
          413,
        ),
    }),
    async (c) => {
      const destination = c.req.param('destination');
      const hook = hooks.get(destination);
      if (!hook) {
        // The configured paths name the destinations: told to the log (the operator), and to a
        // caller with the intake's bearer token, not to whoever reaches the port.
        const known = [...hooks.keys()].map((n) => `/v1/webhooks/${n}/work-orders`);
        const paths = known.length ? `configured: ${known.join(', ')}` : 'no configured destination takes them';
        // Not by the name in the path: a caller could make a series of each.
        refusedPushes.inc({ destination: '', reason: 'no-webhook' });
        refusals.warn(`no-webhook ${destination}`, { destination, configured: known, ...clientField(c) }, `work-order push to ${c.req.path} refused: no destination of that name takes work-order pushes`);
        const sent = bearerCredential(c.req.header('authorization'));
        const trusted = intake !== undefined && sent !== undefined && sameSecret(sent, intake.token);
        return c.json({ error: `no work-order webhook for destination "${destination}"; ${trusted ? paths : "check the destination's name in the path (destinations[].name); the service log names the configured webhook paths"}` }, 404);
      }
      // A compressed body: its signature would be checked over the compressed bytes (a signature of
      // the JSON is "wrong"), or, signed as sent, it would be quarantined as text that is no JSON.
      const compressed = compressedAnswer(c, 'push');
      if (compressed) return compressed;
      // The signature is over the bytes as sent: text decoding drops a byte order mark and replaces
      // bytes that are not UTF-8, so a signature checked over the text would refuse such pushes.
      // Storing is behind or failing: refused with 503 and Retry-After, as for event intake, so the
      // ERP pushes the update again; nothing of it was taken. Pushes and POSTs still being read count.
      const behind = (waiting: number) => behindAnswer(c, waiting, webhookMaxBacklog ?? Infinity, 'push', intake === undefined);
      const waiting = (opts.sink.backlog?.() ?? 0) + reading;
      if (webhookMaxBacklog !== undefined && waiting >= webhookMaxBacklog) return behind(waiting);
      reading++;
      let buffer: ArrayBuffer;
      try {
        buffer = await c.req.arrayBuffer();
      } finally {
        reading--;
      }
      const bytes = new Uint8Array(buffer);
      const denied = authorizeWebhook(destination, hook, intake?.token, { body: bytes, header: (name) => c.req.header(name), now: opts.now() });
      if (denied) {
        // The reason names config keys and headers, never a secret or the signature expected.
        refusedPushes.inc({ destination, reason: denied.fault });
        refusals.warn(`refused ${destination} ${denied.fault}`, { destination, status: denied.status, reason: denied.error, ...clientField(c) }, `work-order push to ${c.req.path} refused`);
        return c.json({ error: denied.error }, denied.status, denied.challenge !== undefined ? { 'www-authenticate': denied.challenge } : {});
      }
      const source = feedbackSource(destination);
      // Read in the charset the Content-Type names, as intake is: bytes that are not text in it are
      // kept as sent (quarantined with the reason), not taken with U+FFFD in ids and keys.
      const read = await readIntakeBody(Promise.resolve(buffer), c.req.header('content-type'), opts.now);
      if ('unsupported' in read) return c.json({ error: `${read.unsupported} (nothing of this push was taken)` }, 415);
      const { text, items: bodyItems, error, setAside, receivedAt } = read;
      // Indexes in the answer count the records (those of an envelope's list, each).
      const items = hook.records ? hook.records(bodyItems) : bodyItems;
      // Again now that the body is read, with nothing awaited between this check and the submit.
      const backlog = opts.sink.backlog?.() ?? 0;
      if (webhookMaxBacklog !== undefined && backlog >= webhookMaxBacklog) return behind(backlog);
      const empty = emptyAnswer(c, text, 'push');
      if (empty) return empty;
      if (error) {
        // Kept: quarantined with the reason, like bad intake.
        const r = await opts.sink.submit([{ source, channel: c.req.path, payload: text, receivedAt, ...asideFor(setAside), retained: true }]).catch(asError);
        if (r instanceof Error) return notStoredAnswer(c, shown, r, 'push');
        return c.json({ error, accepted: 0, rejected: r.quarantined, note: UNREAD_PUSH_NOTE }, 400);
      }
      const messages: RawMessage[] = [];
      const itemOf: number[] = []; // the body item each message came from
      const ignored: { index: number; reason: string }[] = [];
      const parsed = hook.parse(items);
      // Where the work orders named were opened: one opened at another destination is not this ERP's to change.
      const keys = pushedKeys(parsed);
      let openedAt: ReadonlyMap<string, string> = new Map();
      if (opts.openedAt !== undefined && keys.length > 0) {
        const found = await opts.openedAt(keys).catch(asError);
        if (found instanceof Error) {
          const advice = storeErrorAdvice(storeErrorCode(found));
          return c.json({ error: `the service could not read where the pushed work orders were opened (${shown(found)}${advice === undefined ? '' : `; ${advice}`}); nothing of this push was taken, retry later` }, 503, { 'retry-after': '5' });
        }
        openedAt = found;
        // Again after the look-up, with nothing awaited between this check and the submit.
        const behindNow = opts.sink.backlog?.() ?? 0;
        if (webhookMaxBacklog !== undefined && behindNow >= webhookMaxBacklog) return behind(behindNow);
      }
      // Updates of work orders of ours not taken: said in the log too, as a poll says them.
      const notTaken: { businessKey: string; status: string; reason: string }[] = [];
      for (const r of readPushedRecords(parsed, items, destination, openedAt)) {
        if ('ignored' in r) {
          ignored.push({ index: r.index, reason: r.ignored });
          if (r.ours) notTaken.push(r.ours);
          continue;
        }
        itemOf.push(r.index);
        // Ours but unreadable: kept in quarantine with the reason and answered 400, like bad
        // intake items; set aside in the same commit as the rest, so a push retried after a
        // failed commit does not keep it twice. Kept without an `openedAtDestination` of the ERP's:
        // replayed, it is read under this destination's source, where that field is assetbridge's own.
        // Each marked as a copy the ERP may send again (a push whose answer was lost, or one
        // delivered at least once, as ERPs push): one quarantine holds already is counted on its
        // open entry, not kept a second time, as a poll's copies are.
        if ('invalid' in r) messages.push({ source, channel: c.req.path, payload: JSON.stringify(r.record), receivedAt, setAside: { code: 'invalid', reason: r.invalid }, retained: true });
        else messages.push({ source, channel: c.req.path, payload: JSON.stringify(r.event), receivedAt, retained: true });
      }
      const result = messages.length ? await opts.sink.submit(messages).catch(asError) : { accepted: 0, quarantined: [] };
      if (result instanceof Error) return notStoredAnswer(c, shown, result, 'push');
      // Once a minute per destination, with how many more since (an ERP pushing another's work orders
      // does so on every change), and only once the push is answered as taken (not again at its retry).
      if (notTaken.length) {
        const named = notTaken.slice(0, IGNORED_LOGGED).map((u) => `${u.businessKey} (${u.status}): ${u.reason}`);
        const more = notTaken.length > IGNORED_LOGGED ? `; and ${notTaken.length - IGNORED_LOGGED} more` : '';
        refusals.warn(`ignored ${destination}`, { destination, ignored: notTaken.length, ...clientField(c) }, `work-order push to ${destination} ignored ${named.join('; ')}${more} (not taken, so no baseline was reset)`);
      }
      const rejected = result.quarantined.map((q) => ({ index: itemOf[q.index] ?? q.index, reason: q.reason }));
      const answer = { accepted: result.accepted, ...listedAtMost('ignored', ignored), ...listedAtMost('rejected', rejected) };
      // A 400 for the rejected items: the ERP (or whoever reads its delivery log) must not push it all again.
      return rejected.length ? c.json({ ...answer, note: partlyTakenPushNote(result.accepted) }, 400) : c.json(answer, 202);
    },
  );
  // A handler that throws (the store unreadable while /metrics or /v1/status reads it): a JSON answer
  // with the reason and what to do, logged through the service log (redacted), not a bare
  // "Internal Server Error" with the stack on stderr.
  app.onError((err, c) => {
    if ('getResponse' in err && typeof err.getResponse === 'function') return err.getResponse();
    // The client closed the connection before its body came whole (a sender gone, a caller probing
    // the port): nothing was taken and nobody reads an answer. No failure of the service, and anyone
    // reaching the port can cause it (a push's body is read before its signature is checked): a
    // warning once a minute per path, with how many more, not an error with its stack per request.
    if (bodyCut(c, err)) {
      cutBodies.inc({ route: c.req.routePath });
      refusals.warn(`cut ${c.req.path}`, { method: c.req.method, path: c.req.path, ...clientField(c) }, `${c.req.method} ${c.req.path} abandoned: the client closed the connection before its body was complete; nothing of it was taken`);
      return c.json({ error: 'the connection was closed before the body was complete; nothing of it was taken' }, 400);
    }
    opts.logger?.error?.({ err, method: c.req.method, path: c.req.path }, `${c.req.method} ${c.req.path} failed`);
    const advice = storeErrorAdvice(storeErrorCode(err));
    return c.json({ error: `${c.req.method} ${c.req.path} failed: ${shown(err)}${advice === undefined ? '' : `; ${advice}`} (the service log has the details)` }, 500);
  });
  app.notFound((c) => {
    // A route that exists under another method (a GET of the intake, say): 405 with what it takes.
    const allowed = methodsAt(app.routes, c.req.path);
    // OPTIONS asks what a route takes: answered, not refused with a 405 whose Allow leaves it out.
    if (allowed && c.req.method === 'OPTIONS') return c.body(null, 204, { allow: `${allowed}, OPTIONS` });
    if (allowed) return c.json({ error: `${c.req.method} is not answered at ${c.req.path}; use ${allowed}` }, 405, { allow: allowed });
    // A trailing slash (POST /v1/events/): routes are matched exactly, so say the path without it.
    const trimmed = c.req.path.replace(/\/+$/, '');
    if (trimmed !== '' && trimmed !== c.req.path && methodsAt(app.routes, trimmed) !== undefined)
      return c.json({ error: `no route ${c.req.method} ${c.req.path}; use ${trimmed} (without the trailing slash)` }, 404);
    return c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404);
  });
  return app;
}

/** The methods the app's routes answer at `path` (`:param` segments match any one segment; HEAD with GET), for a 405's Allow; undefined when none does. */
function methodsAt(routes: readonly { readonly path: string; readonly method: string }[], path: string): string | undefined {
  const methods = new Set<string>();
  for (const r of routes) {
    const pattern = new RegExp(`^${r.path.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`);
    if (r.method !== 'ALL' && pattern.test(path)) methods.add(r.method);
  }
  // A GET route answers HEAD too (without the body).
  if (methods.has('GET')) methods.add('HEAD');
  return methods.size ? [...methods].sort().join(', ') : undefined;
}

/**
 * An intake body as a list of JSON items, read as text in the charset its Content-Type names
 * (UTF-8 when none). Bytes that are not text in that charset are not decoded with replacement
 * characters (which could still parse, with U+FFFD in ids and names): they are kept as they came,
 * for quarantine, with the reason.
 */
async function readIntakeBody(
  body: Promise<ArrayBuffer>,
  contentType: string | undefined,
  now: () => number,
): Promise<{ text: string | Uint8Array; items: unknown[]; error?: string; setAside?: string; receivedAt: number } | { unsupported: string }> {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '')?.[1];
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(charset ?? 'utf-8', { fatal: true });
  } catch {
    return { unsupported: `charset "${charset ?? ''}" in the Content-Type is not an encoding this service reads; send the events as UTF-8 (Content-Type: application/json)` };
  }
  const bytes = new Uint8Array(await body);
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    const receivedAt = now();
    const declared = charset === undefined ? 'UTF-8 (no charset in the Content-Type)' : `${charset} (the charset in the Content-Type)`;
    return { text: bytes, items: [], error: `body is not ${declared} text; send UTF-8 JSON, or name the body's encoding: Content-Type: application/json; charset=<encoding>`, receivedAt };
  }
  const read = await readJsonItems(Promise.resolve(text), now);
  // A form or an upload (curl -d with no Content-Type, curl -F file=@events.json): say how to send JSON.
  const form = /^\s*(multipart\/form-data|application\/x-www-form-urlencoded)/i.exec(contentType ?? '')?.[1];
  if (read.error !== undefined && form !== undefined)
    return { ...read, error: `${read.error}; the Content-Type is ${form.toLowerCase()}: send the JSON itself as the body with Content-Type: application/json (curl --data-binary @events.json -H 'Content-Type: application/json')` };
  return read;
}

/**
 * A JSON body as a list of items (a single object counts as a list of one), or why it is not read:
 * no JSON, or JSON nested too deep (`jsonItems`; then `setAside`: the reason its
 * quarantine entry keeps, as the decoder would read such a body as JSON).
 */
async function readJsonItems(body: Promise<string>, now: () => number): Promise<{ text: string; items: unknown[]; error?: string; setAside?: string; receivedAt: number }> {
  const text = await body;
  const receivedAt = now();
  const read = jsonItems(text);
  if (read.ok) return { text, items: read.items, receivedAt };
  if (read.tooDeep !== undefined) return { text, items: [], error: `${read.tooDeep}: send the events as a JSON array of flat objects ([{…}, {…}])`, setAside: read.tooDeep, receivedAt };
  const hint = isJsonLines(text) ? '; it is JSON lines: send the events as one JSON array ([{…}, {…}])' : notJsonHint(text);
  return { text, items: [], error: `body is not JSON: ${read.notJson ?? ''}${hint}`, receivedAt };
}

/** How many ignored updates of work orders of ours a push's log line names; the rest are counted. */
const IGNORED_LOGGED = 10;

/** How many ignored (or rejected) items a push's answer lists by index; the rest are counted. */
export const WEBHOOK_ITEMS_LISTED = 50;

/**
 * A push's `ignored` (or `rejected`) items for its answer: none, all of them up to
 * {@link WEBHOOK_ITEMS_LISTED}, else that many and how many more (`ignoredNotListed`): a push has
 * no item limit, and a body of a million `{}` would otherwise be answered with a million lines.
 */
function listedAtMost(key: 'ignored' | 'rejected', items: readonly { index: number; reason: string }[]): Record<string, unknown> {
  if (!items.length) return {};
  if (items.length <= WEBHOOK_ITEMS_LISTED) return { [key]: items };
  return { [key]: items.slice(0, WEBHOOK_ITEMS_LISTED), [`${key}NotListed`]: items.length - WEBHOOK_ITEMS_LISTED };
}

/** A 400 for a POST of which some items were stored: so that the client does not send it all again (duplicates, and the rejected ones quarantined twice). */
const PARTLY_TAKEN_NOTE =
  "the items not listed in rejected are stored: do not send this POST again; the rejected ones are kept in quarantine with the reason ('assetbridge quarantine list'), to replay once the cause is fixed ('assetbridge quarantine replay')";

/**
 * A 400 for a push some of whose updates were rejected: the rest were taken, so the push is not to
 * be sent again as it is (its accepted updates would come twice, its rejected ones be quarantined twice).
 */
function partlyTakenPushNote(accepted: number): string {
  const taken = accepted === 0 ? 'none of its updates was taken' : `its ${accepted} accepted update${accepted === 1 ? ' was' : 's were'} taken`;
  return `${taken}; the rejected ones are kept in quarantine with the reason ('assetbridge quarantine list'), to replay once the cause is fixed ('assetbridge quarantine replay'): do not send this push again unchanged`;
}

/** A 400 for a push whose body could not be read: kept whole in quarantine, so not to be sent again as it is. */
const UNREAD_PUSH_NOTE =
  "the push is kept in quarantine as it came, with the reason ('assetbridge quarantine list'): do not send it again unchanged; fix the sender, or the cause, and replay it ('assetbridge quarantine replay')";

/**
 * A 400 for a POST whose body could not be read (no JSON, not text in its charset): kept whole in
 * quarantine, so not to be sent again as it is (it would be refused, and kept, once more).
 */
const UNREAD_POST_NOTE =
  "nothing of this POST was taken as events; its body is kept in quarantine as it came, with the reason ('assetbridge quarantine list'): do not send it again unchanged; fix the sender as the error says (its JSON, or the charset its Content-Type names) and send the events again, then discard the kept body ('assetbridge quarantine discard')";

/** A body read as JSON that is still not to be decoded (nested too deep): quarantined with its reason as it came. */
const asideFor = (reason: string | undefined): Pick<RawMessage, 'setAside'> => (reason === undefined ? {} : { setAside: { code: 'undecodable', reason } });

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** A body sent compressed (`Content-Encoding` other than identity): 415, nothing taken; undefined when it is not. */
function compressedAnswer(c: Context, what: 'POST' | 'push'): Response | undefined {
  const encoding = c.req.header('content-encoding')?.trim().toLowerCase();
  if (encoding === undefined || encoding === '' || encoding === 'identity') return undefined;
  return c.json({ error: `Content-Encoding ${encoding} is not read here; send the body uncompressed (nothing of this ${what} was taken)` }, 415);
}

/**
 * A body with nothing in it (a probe, a client that sent no body): 400 with what to send. Not
 * quarantined: an entry with no payload would have nothing to replay, only to discard.
 */
function emptyAnswer(c: Context, text: string | Uint8Array, what: 'POST' | 'push'): Response | undefined {
  if (typeof text !== 'string' || text.trim() !== '') return undefined;
  const send = what === 'POST' ? 'send the events as a JSON array ([{…}, {…}]) with Content-Type: application/json' : 'send the work-order updates as JSON';
  return c.json({ error: `the body is empty: ${send}; nothing of this ${what} was taken (there was nothing to keep)`, accepted: 0 }, 400);
}

/** Storing is behind (`sources.http.maxBacklog`): nothing was taken, and the sender retries after a second. */
function behindAnswer(c: Context, waiting: number, max: number, what: 'POST' | 'push', byDefault = false): Response {
  c.header('Retry-After', '1');
  const limit = byDefault ? `the default of sources.http.maxBacklog, ${max}, as sources.http is not set` : `sources.http.maxBacklog is ${max}`;
  return c.json({ error: `ingest is behind: ${waiting} events wait to be stored (${limit}); nothing of this ${what} was taken, retry after a second` }, 503);
}

/**
 * The store refused the commit (disk full, locked): nothing was taken and the sender (a client's POST, an ERP's push) retries. The
 * store error's code says what the operator can do, as in the log and the CLI.
 */
function notStoredAnswer(c: Context, shown: (err: unknown) => string, err: unknown, what: 'POST' | 'push'): Response {
  const advice = storeErrorAdvice(storeErrorCode(err));
  c.header('Retry-After', '5');
  return c.json({ error: `the service could not store the events (${shown(err)}${advice === undefined ? '' : `; ${advice}`}); nothing of this ${what} was taken, retry later` }, 503);
}

/**
 * The key under which a POST of one object with no `kind` holds a list of objects (`{"events":
 * [...]}`, as other APIs wrap what they take), or undefined when the body is no such wrapper.
 */
function wrappingKey(items: readonly unknown[]): string | undefined {
  const only = items.length === 1 ? items[0] : undefined;
  if (only === null || typeof only !== 'object' || Array.isArray(only) || 'kind' in only) return undefined;
  const lists = Object.entries(only).filter(([, v]) => Array.isArray(v) && v.length > 0 && v.every((e) => e !== null && typeof e === 'object' && !Array.isArray(e)));
  return lists.length === 1 ? lists[0]?.[0] : undefined;
}

/** Several lines that each parse: a capture file or `rules test` input posted as it is. */
function isJsonLines(text: string): boolean {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return (
    lines.length > 1 &&
    lines.every((l) => {
      try {
        JSON.parse(l);
        return true;
      } catch {
        return false;
      }
    })
  );
}

export interface RunningServer {
  readonly url: string;
  /**
   * Stops taking requests and answers those already taken (an intake POST gets its 2xx once its
   * events are committed); connections still busy after `graceMs` are cut. @default 10 s
   */
  close(graceMs?: number): Promise<void>;
}

/** How long {@link RunningServer.close} waits for requests already taken. */
const CLOSE_GRACE_MS = 10_000;

type ClosableServer = ServerType & { closeIdleConnections?(): void; closeAllConnections?(): void };

/** Closes `server`: idle keep-alive connections at once and as requests finish, busy ones after `graceMs`. */
function closeGracefully(server: ClosableServer, graceMs: number): Promise<void> {
  return new Promise<void>((res) => {
    const idle = setInterval(() => server.closeIdleConnections?.(), 50);
    const force = setTimeout(() => server.closeAllConnections?.(), graceMs);
    server.close(() => {
      clearInterval(idle);
      clearTimeout(force);
      res();
    });
    server.closeIdleConnections?.();
  });
}

/** The base URL of a server on `host` and `port`: an IPv6 address in brackets (`http://[::1]:8080`), as a URL writes it. */
export function serverUrl(host: string, port: number): string {
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

export function startHttpServer(opts: HttpServerOptions): Promise<RunningServer> {
  const app = createHttpApp(opts);
  return new Promise((resolve, reject) => {
    let server: ServerType | undefined = undefined;
    try {
      server = serve({ fetch: app.fetch, hostname: opts.host, port: opts.port }, (info) => {
        resolve({
          url: serverUrl(opts.host, info.port),
          close: (graceMs = CLOSE_GRACE_MS) => closeGracefully(server as ClosableServer, graceMs),
        });
      });
      server.on('error', reject);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
