/**
 * The configuration schema (YAML, validated at startup). Every field documents its default; the
 * reference in docs/configuration.md follows this file. Durations accept `30s`, `5m`, `1h` or ms.
 * @module
 */
import { CANONICAL_UNIT, unitFactor, type UnitDimension } from '../core/normalize/units.js';
import { z } from 'zod';
import { IDENTIFIER_TYPES } from '../core/model/events.js';
import { duration, durationField, durationText, timerDuration } from './duration.js';
import { describeIssue, echo, echoed } from './issue-messages.js';
import { accepted, BESIDE_VALUE_PROBLEMS } from './entry-checks.js';
import { rulesSchema } from './rules-schema.js';
import { telematicsSchema } from './telematics-schema.js';
import { baseUrlField, httpUrl, mqttUrl } from './url.js';
import { headerCredential, headerName, httpHeaders } from './http-headers.js';
import { coveredFilters, filterCovers, filterIntersection, filterUnion, stripSharePrefix, topicFilterProblem, withShareGroup } from '../core/normalize/topic-match.js';

export { duration } from './duration.js';

const atLeastARequest = (example: string) =>
  z.number().min(100, {
    error: (iss) => `${durationText(Number(iss.input))} is too short for an answer to arrive: every request would time out; give seconds, e.g. ${example} (digits alone are milliseconds: write 5s, not 5)`,
  });

/**
 * A request timeout: at least 100 ms. Digits alone are milliseconds, so `timeoutMs: 5` meant for
 * five seconds would time out every request (and leave each outcome unknown) instead.
 */
export const requestTimeout = (fallback: string) => duration(fallback).pipe(atLeastARequest(fallback)).pipe(timerDuration(fallback));

/** A request timeout without a default (see {@link requestTimeout}): where another key's value stands in. */
const optionalRequestTimeout = (example: string) => durationField().pipe(atLeastARequest(example)).pipe(timerDuration(example)).optional();

const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: echoed('is not a name: use letters, digits, _ . - only') });

/** Where in a JSON payload a value lives: a dotted path (`pos.lat`, `sensors.0.value`). */
const fieldPath = z.string().min(1);

/** A meter's path, with the unit the device counts in when it is not the canonical one of `dimension`. */
function meterPath(dimension: UnitDimension) {
  const example = `{ path: <field>, unit: ${dimension === 'duration' ? 'min' : dimension === 'distance' ? 'mi' : 'gal'} }`;
  return z.union(
    [
      fieldPath,
      z.strictObject({
        path: fieldPath,
        unit: z.string().refine((u) => unitFactor(u, dimension) !== undefined, {
          error: echoed(`is not a ${dimension} unit: use ${CANONICAL_UNIT[dimension]} or one such as ${dimension === 'duration' ? 'min, s' : dimension === 'distance' ? 'mi, m' : 'gal, impgal'}`),
        }),
      }),
    ],
    { error: (iss) => (iss.code === 'invalid_union' ? `${echo(iss.input)} is not a meter path: give the payload field's path, or ${example} when the device counts in another unit` : undefined) },
  );
}

/**
 * The error of a decoder key that takes `{ path, ... }` given a path as text (`time: ts`, written as
 * `lat: pos.lat` is): what to write instead, with the path given (`write { path: ts }`) and `more`.
 */
function pathAsText(more: string): (iss: z.core.$ZodRawIssue) => string | undefined {
  return (iss) => (iss.code === 'invalid_type' && typeof iss.input === 'string' ? `${echo(iss.input)} is text: write { path: ${iss.input} } (${more})` : undefined);
}

/** How one MQTT topic filter's payloads decode into canonical events. */
export const jsonDecoderSchema = z.strictObject({
  /** Asset identifier: a JSON path, or a topic segment index (0-based; `fleet/+/telemetry` → 1). */
  assetId: z.union([z.strictObject({ path: fieldPath }), z.strictObject({ topicSegment: z.number().int().min(0) })], {
    error: (iss) =>
      iss.code !== 'invalid_union'
        ? undefined
        : typeof iss.input === 'string'
          ? `${echo(iss.input)} is text: write { path: ${iss.input} } (where in the payload), or { topicSegment: <n> } (which topic level, 0-based)`
          : echoed('is neither form: give { path: <field> } (where in the payload) or { topicSegment: <n> } (which topic level, 0-based)')(iss),
  }),
  /** Which kind of identifier the source sends. @default tag */
  idType: z.enum(IDENTIFIER_TYPES).default('tag'),
  /**
   * Event time path and format (`iso` needs a zone: `Z` or `+02:00`). Absent: receive time is used
   * (not recommended: a backlog delivered after an outage would all carry the same time).
   */
  time: z
    .strictObject(
      { path: fieldPath, format: z.enum(['iso', 'epoch-ms', 'epoch-s']).default('iso') },
      { error: pathAsText('with format: epoch-ms or epoch-s for a number; iso, the default, needs a zone') },
    )
    .optional(),
  lat: fieldPath.optional(),
  lng: fieldPath.optional(),
  alt: fieldPath.optional(),
  accuracy: fieldPath.optional(),
  zone: fieldPath.optional(),
  /** Sensor name → path and unit. */
  sensors: z.record(z.string(), z.strictObject({ path: fieldPath, unit: z.string().optional() }, { error: pathAsText('and unit: <label> if you like') })).default({}),
  /**
   * Meter field → path of a cumulative value, or `{ path, unit }` when the device counts in another
   * unit (`mi`, `min`, `s`, `gal`, ...): converted to the canonical one (h, km, L) as it is decoded.
   */
  meters: z
    .strictObject({
      operatingHours: meterPath('duration').optional(),
      idleHours: meterPath('duration').optional(),
      odometerKm: meterPath('distance').optional(),
      fuelUsedL: meterPath('volume').optional(),
    })
    .default({}),
  /**
   * Alert reason/severity/code paths; an alert event is produced when the reason is present. Severity
   * values info, warning, critical (any case). The code (a fault code) is what alert rules
   * match and key work orders by. @default severity warning
   */
  alert: z
    .strictObject(
      {
        reason: fieldPath,
        severity: fieldPath.optional(),
        code: fieldPath.optional(),
        /** A J1939 fault sent as two numbers: the paths of its SPN and FMI, read as the code `SPN<spn>-FMI<fmi>` (where `code` is absent or its value missing). */
        spn: fieldPath.optional(),
        fmi: fieldPath.optional(),
      },
      { error: (iss) => (iss.code === 'invalid_type' && typeof iss.input === 'string' ? `${echo(iss.input)} is text: write { reason: ${iss.input} } (the path of the alert's reason; severity: <path> and code: <path> too if the payload has them)` : undefined) },
    )
    .superRefine((a, ctx) => {
      if ((a.spn === undefined) === (a.fmi === undefined)) return;
      const [given, missing] = a.spn !== undefined ? ['spn', 'fmi'] : ['fmi', 'spn'];
      ctx.addIssue({ code: 'custom', path: [given], message: `maps ${given} without ${missing}: a J1939 fault code is its SPN and FMI together (SPN110-FMI0); map ${missing} too, or map code alone when the payload has them joined` });
    })
    .optional(),
}).superRefine((d, ctx) => {
  // Half a position could never decode: every payload would be quarantined for its missing half.
  // Said beside the decoder's other refused values, but not of a lat or lng refused itself.
  if (!accepted(ctx, ['lat'], ['lng']) || (d.lat === undefined) === (d.lng === undefined)) return;
  const [given, missing] = d.lat !== undefined ? ['lat', 'lng'] : ['lng', 'lat'];
  ctx.addIssue({
    code: 'custom',
    path: [given],
    message: `maps ${given} without ${missing}: map ${missing} too (a position needs both), or leave both out and map zone alone for a fixed reader that knows only its zone`,
  });
}, BESIDE_VALUE_PROBLEMS);
export type JsonDecoderConfig = z.infer<typeof jsonDecoderSchema>;

export const mqttSourceSchema = z.strictObject({
  name,
  /** `mqtt://host:1883`, `mqtts://host:8883`, or over WebSocket `ws://host:8080/mqtt`, `wss://host/mqtt`. */
  url: mqttUrl(),
  /**
   * Stable client id: with a persistent session the broker keeps our subscriptions and queues
   * messages while we are down. Give each service its own id.
   * @default assetbridge
   */
  clientId: z.string().min(1).default('assetbridge'),
  username: z.string().optional(),
  password: z.string().optional(),
  /** PEM file paths for mqtts. */
  caFile: z.string().optional(),
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
  rejectUnauthorized: z.boolean().default(true),
  /**
   * MQTT protocol: 5 lets the broker keep `maxInflight` messages un-acknowledged at once (receive
   * maximum), which ingest throughput depends on; 4 (3.1.1) is for brokers without MQTT 5, such as
   * aedes. @default 5
   */
  protocolVersion: z.union([z.literal(4), z.literal(5)], { error: echoed('is not an MQTT version: use 5 (MQTT 5) or 4 (MQTT 3.1.1)') }).default(5),
  /**
   * MQTT 5: how long the broker keeps our session (subscriptions and queued messages) while we are
   * disconnected. With 3.1.1 the broker's own setting applies. At least a minute: a shorter session
   * would end, with the messages queued for it, during a restart. @default 7d
   */
  sessionExpiryMs: duration('7d').pipe(
    z.number().min(60_000, {
      error: (iss) =>
        `${durationText(Number(iss.input))} is too short: the broker ends our session, and drops the messages it queued for us, this long after we disconnect, so a restart or an outage would lose them; give hours or days, e.g. 7d (digits alone are milliseconds)`,
    }),
  ),
  /** Wait before reconnecting after a lost connection, a refused one or a failed commit (at least 10ms). @default 5s */
  reconnectDelayMs: duration('5s').pipe(
    z.number().min(10, {
      error: (iss) =>
        `${durationText(Number(iss.input))} is too short: the source would reconnect to the broker that often (every millisecond for 0), flooding its log and a broker that refuses it; give seconds, e.g. 5s (digits alone are milliseconds)`,
    }),
  ).pipe(timerDuration('5s')),
  /**
   * Subscribe as MQTT shared subscriptions (`$share/<group>/<filter>`), for a scaled mode not built
   * yet: with the SQLite store run one process per store (`config check` and the service's start warn when this is set).
   */
  sharedGroup: z
    .string()
    .regex(/^[^/+#]+$/, { error: echoed('is not a group name: a shared-subscription group name must not contain /, + or #') })
    .optional(),
  /** How many messages may wait for a commit at once (MQTT 5 receive maximum); batches never exceed it. @default 5000 */
  maxInflight: z.number().int().min(1).max(65535).default(5000),
  topics: z
    .array(
      z.strictObject({
        filter: z.string().superRefine((filter, ctx) => {
          const problem = topicFilterProblem(filter);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
        decoder: jsonDecoderSchema,
      }),
    )
    .min(1, 'subscribe to at least one topic filter'),
}).superRefine((s, ctx) => {
  // Said beside the source's other refused values (a decoder's mistyped key): each check reads only
  // values not refused themselves, so of the topics those whose filter was read (by their index).
  const topics = (Array.isArray(s.topics) ? s.topics : []).flatMap((t, i) => (accepted(ctx, ['topics', i, 'filter']) ? [{ i, filter: t.filter }] : []));
  // A message takes the decoder of the first filter that matches it: one after a filter covering it never decodes anything.
  topics.forEach(({ filter, i }, k) => {
    const first = topics.slice(0, k).find((t) => filterCovers(stripSharePrefix(t.filter), stripSharePrefix(filter)));
    if (first !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['topics', i, 'filter'],
        message: `"${filter}" is never used: topics.${first.i} ("${first.filter}") comes first and matches every topic it does, and a message takes the decoder of the first filter that matches; put the narrower filter first`,
      });
  });
  // Of the filters subscribed (one another covers is not: client-options.ts), two that overlap
  // would each deliver a message matching both: a broker may send a copy per matching subscription
  // (Mosquitto does with MQTT 5), and each copy would be ingested. `full[k]` is `topics[k]`'s.
  const full = accepted(ctx, ['sharedGroup']) ? topics.map((t) => withShareGroup(t.filter, s.sharedGroup)) : [];
  const covered = coveredFilters(full);
  const subscribed = full.flatMap((f, k) => (covered.has(f) || full.indexOf(f) !== k ? [] : [k]));
  subscribed.forEach((j, n) => {
    const later = stripSharePrefix(full[j] as string);
    for (const i of subscribed.slice(0, n)) {
      const earlier = stripSharePrefix(full[i] as string);
      const both = filterIntersection(earlier, later);
      if (both === undefined) continue;
      // `$share/<group>/`, or '' for a plain subscription.
      const share = (k: number, plain: string) => (full[k] as string).slice(0, (full[k] as string).length - plain.length);
      const fix =
        share(i, earlier) !== share(j, later)
          ? 'subscribe them in one share group (a filter then covers the other, or they must match separate topics), or make them match separate topics'
          : `make the filters match separate topics, or add after them one filter covering both, such as "${filterUnion(earlier, later)}" (only it is then subscribed, and the two narrower ones still choose the decoder; it also takes the other topics it matches)`;
      const [a, b] = [topics[i], topics[j]] as [(typeof topics)[number], (typeof topics)[number]];
      ctx.addIssue({
        code: 'custom',
        path: ['topics', b.i, 'filter'],
        message: `"${b.filter}" overlaps topics.${a.i} ("${a.filter}"): a message on a topic both match (${/[+#]/.test(both) ? `any matching ${both}` : both}) would be delivered once per subscription (Mosquitto does so with MQTT 5) and taken twice; ${fix}`,
      });
      break;
    }
  });
  // MQTT sends a password only with a user name: mqtt.js drops such a connection before it is
  // made, with nothing logged, and the service never connects ("is the broker running?").
  if (accepted(ctx, ['password'], ['username']) && s.password !== undefined && s.username === undefined)
    ctx.addIssue({ code: 'custom', path: ['password'], message: 'is set without username: MQTT sends a password only together with a user name, so the broker would never be reached; set username as well (or remove password)' });
  // mqtt.js ignores TLS options on mqtt:// and ws://: the connection, password included, would go in clear text.
  if (!accepted(ctx, ['url']) || /^(mqtts|wss):/i.test(s.url)) return;
  for (const key of ['caFile', 'certFile', 'keyFile'] as const)
    if (s[key] !== undefined && accepted(ctx, [key]))
      ctx.addIssue({ code: 'custom', path: [key], message: `is set, but the url is not TLS, so it would not be used and the connection (password included) would go in clear text: use mqtts:// (or wss://) in url, or remove ${key}` });
}, BESIDE_VALUE_PROBLEMS);
export type MqttSourceConfig = z.infer<typeof mqttSourceSchema>;

/** A bearer token a client can send as it is: printable ASCII, no white space at either end. */
const SENDABLE_TOKEN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

export const httpIntakeSchema = z.strictObject({
  /** Bearer token for POST /v1/events (use `${ENV}`). */
  token: z
    .string()
    .min(8, 'use a token of at least 8 characters')
    // A sender could never present it: HTTP drops white space at a header value's ends, a line break
    // ends the header, and a character past ASCII arrives as other bytes (UTF-8 read as Latin-1).
    .refine((t) => t.length < 8 || SENDABLE_TOKEN.test(t), {
      error:
        'holds what no Authorization header carries as written (white space at its start or end, which HTTP drops; a line break or other control character; a character outside printable ASCII), so every POST and webhook push would be refused 401: use printable ASCII only (in a secret file, nothing after the token but one line break)',
    }),
  /** Largest accepted body. @default 1048576 (1 MiB) */
  bodyLimitBytes: z.number().int().positive().default(1_048_576),
  /** Largest number of events in one POST. @default 5000 */
  maxEvents: z.number().int().positive().default(5000),
  /** Events waiting to be stored above which a POST is refused with 503 (the sender retries). @default 50000 */
  maxBacklog: z.number().int().positive().default(50_000),
});

export const retrySchema = z.strictObject({
  /** Attempts before a delivery goes to dead letters. @default 12 */
  maxAttempts: z.number().int().min(1).default(12),
  /**
   * Age after which a failing delivery goes to dead letters, counted from when the value it carries
   * was queued (a state update's newer value replacing the pending one counts afresh). @default 2d
   */
  maxAgeMs: duration('2d'),
  baseDelayMs: duration('1s'),
  maxDelayMs: duration('5m'),
  /**
   * How long a location update whose request had an unknown outcome (timed out, connection dropped)
   * may still land at the ERP. A newer value of that asset delivered before then is sent once more
   * then, so a late old request cannot leave the ERP with the older value. `0` turns it off. @default 2m
   */
  unknownOutcomeSettleMs: duration('2m'),
});

export const rateLimitSchema = z.strictObject({
  /** Requests per minute to this destination, shared by all workers. @default 300 */
  requestsPerMinute: z.number().positive().default(300),
  /** Requests in flight at once. @default 4 */
  maxConcurrency: z.number().int().min(1).default(4),
  /**
   * The longest one 429/503 answer pauses the destination, whatever its `Retry-After` asks (a
   * proxy's or a misconfigured ERP's hours or weeks): then one request goes first, as after any
   * pause, and a new answer pauses it again. @default 1h
   */
  maxPauseMs: duration('1h').pipe(z.number().min(1000, { error: (iss) => `${durationText(Number(iss.input))} is too short: a pause shorter than a second answers throttling with a request per rate token (e.g. 1h)` })),
});

export const circuitBreakerSchema = z.strictObject({
  /** Consecutive failed attempts that open the circuit. @default 5 */
  failureThreshold: z.number().int().min(1).default(5),
  /** How long the circuit stays open before a half-open probe. @default 30s */
  openMs: duration('30s'),
});

/**
 * A request path template: `{name}` placeholders are filled per request (rest-mapping.ts), so one
 * the request cannot fill is refused here rather than dead-lettering every delivery later.
 */
function pathTemplate(fallback: string, placeholders: readonly string[], noPlaceholders?: string) {
  return z
    .string()
    .default(fallback)
    .superRefine((template, ctx) => {
      checkPlaceholders(template, ctx, placeholders, noPlaceholders);
    });
}

/** Refuses a `{name}` in `template` that is not one of `placeholders`; true when there is none. */
function checkPlaceholders(template: string, ctx: { addIssue(issue: { code: 'custom'; message: string }): void }, placeholders: readonly string[], noPlaceholders?: string): boolean {
  for (const [, name] of template.matchAll(/\{([A-Za-z]+)\}/g)) {
    if (name === undefined || placeholders.includes(name)) continue;
    const can = placeholders.length > 0 ? `this path can use ${placeholders.map((p) => `{${p}}`).join(', ')}` : (noPlaceholders ?? 'this path takes no placeholder');
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(template)} uses {${name}}: ${can}` });
    return false;
  }
  return true;
}

/**
 * The on-hand read of one (location, SKU): no default (unset, nothing is read). It must name both,
 * or every cell would read the same quantity (and a snapshot's deltas would be against it).
 */
const onHandPathTemplate = z
  .string()
  .optional()
  .superRefine((template, ctx) => {
    if (template === undefined || !checkPlaceholders(template, ctx, ['location', 'sku', 'erpAssetId'])) return;
    const uses = (name: string) => template.includes(`{${name}}`);
    if (!uses('location') || !(uses('sku') || uses('erpAssetId')))
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(template)} must use {location} and {sku}, e.g. /api/v1/inventory/on-hand?location={location}&sku={sku}: each cell is read on its own` });
  });

/** What a 409 answer to a create on one path means (see `on409`). */
const conflictSetting = () => z.enum(['auto', 'exists', 'retry', 'fail']).default('auto');

/** How a REST destination authenticates. Secrets should come from `${ENV}` / `${ENV}_FILE`. */
export const restAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('bearer'),
    /** Static bearer token sent as `Authorization: Bearer <token>`. */
    token: headerCredential(z.string().min(1, 'give the bearer token (use ${ENV})')),
  }),
  z.strictObject({
    type: z.literal('oauth2-client-credentials'),
    /** Token endpoint URL. */
    tokenUrl: httpUrl('https://auth.example.com/oauth/token'),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1, 'give the client secret (use ${ENV})'),
    /** Space-separated scopes. */
    scope: z.string().optional(),
    /** `body` = client_secret_post, `basic` = client_secret_basic. @default body */
    clientAuth: z.enum(['body', 'basic']).default('body'),
    /** Mint a new token this long before the current one expires. @default 60s */
    expiryMarginMs: duration('60s'),
    /**
     * How long the token request may take, apart from the request that waits for the token (whose
     * own `timeoutMs` starts once it has one). @default the destination's `timeoutMs`
     */
    timeoutMs: optionalRequestTimeout('15s'),
  }),
]);
export type RestAuthConfig = z.infer<typeof restAuthSchema>;

/** An HTTP header name (RFC 9110 token): what a request can carry, so what a push's header can be matched by. */
const HTTP_HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A webhook header's name: one a push could carry, else refused naming what is wrong (a space, a colon) rather than never matching. */
const webhookHeaderName = (example: string) =>
  z
    .string({ error: `name the header, e.g. ${example}` })
    .refine((v) => HTTP_HEADER_NAME.test(v), {
      error: (iss) => {
        const v = String(iss.input);
        if (v === '') return `name the header, e.g. ${example}`;
        const bad = [...new Set([...v].filter((ch) => !HTTP_HEADER_NAME.test(ch)))].map((ch) => (ch === ' ' ? 'a space' : ch === ':' ? 'a colon' : JSON.stringify(ch))).join(', ');
        return `${JSON.stringify(v)} is no HTTP header name (it has ${bad}), so no push would ever match it; write the name alone, as the ERP sends it, e.g. ${example}`;
      },
    });

/**
 * Work-order pushes from this ERP to `POST /v1/webhooks/{name}/work-orders`. With a `secret`,
 * each push must carry the HMAC-SHA256 of its body (hex or base64, `sha256=` prefix optional)
 * in `signatureHeader`; with a `timestampHeader` too, of `<timestamp>.<body>`, and pushes dated
 * more than `toleranceMs` from this host's clock are refused. Without a secret, pushes need the
 * intake token (`sources.http.token`) as a bearer token.
 */
export const destinationWebhookSchema = z
  .strictObject({
    /** HMAC key shared with the ERP (use `${ENV}`). */
    secret: z.string().min(16, 'use a secret of at least 16 characters').optional(),
    /** While the secret is being replaced: the one before it, also accepted until it is removed. */
    previousSecret: z.string().min(16, 'use a secret of at least 16 characters').optional(),
    /** @default X-Signature-256 */
    signatureHeader: webhookHeaderName('X-Signature-256').default('X-Signature-256'),
    /** Header with the push's Unix time in seconds, signed with the body; absent: the body alone is signed and no time is checked. */
    timestampHeader: webhookHeaderName('X-Signature-Timestamp').optional(),
    /** How far a timestamped push may be from this host's clock, either way. @default 5m */
    toleranceMs: duration('5m').pipe(
      z.number().min(1000, {
        error: (iss) => `${durationText(Number(iss.input))} leaves no room for the time a push takes; give seconds or minutes, e.g. 5m (digits alone are milliseconds)`,
      }),
    ),
  })
  .superRefine((hook, ctx) => {
    // Said beside the webhook's other refused values, each check on values not refused themselves.
    if (!accepted(ctx, ['secret'])) return;
    if (hook.secret !== undefined) {
      if (accepted(ctx, ['timestampHeader'], ['signatureHeader']) && hook.timestampHeader !== undefined && hook.timestampHeader.toLowerCase() === hook.signatureHeader.toLowerCase())
        ctx.addIssue({ code: 'custom', path: ['timestampHeader'], message: `is the signatureHeader (${hook.signatureHeader}): name the header the ERP sends the push's time in, e.g. X-Signature-Timestamp` });
      return;
    }
    if (hook.previousSecret !== undefined && accepted(ctx, ['previousSecret']))
      ctx.addIssue({ code: 'custom', path: ['previousSecret'], message: 'is accepted beside `secret` only: set `secret` to the new secret and `previousSecret` to the one it replaces' });
    if (hook.timestampHeader !== undefined && accepted(ctx, ['timestampHeader']))
      ctx.addIssue({ code: 'custom', path: ['timestampHeader'], message: 'needs `secret`: the timestamp is signed with the body (without a secret, pushes use the intake bearer token)' });
  }, BESIDE_VALUE_PROBLEMS);

/**
 * The keys every destination type has, whatever its connector: `src/app.ts` reads the name, limits,
 * retry, circuit breaker and timeout of every destination, and the webhook of those whose connector
 * reads pushes (`parseWorkOrderWebhook`). A destination schema spreads it:
 * `z.strictObject({ ...destinationCommon, type: z.literal('sap'), ... })`.
 */
export const destinationCommon = {
  name,
  timeoutMs: requestTimeout('15s'),
  rateLimit: rateLimitSchema.prefault({}),
  retry: retrySchema.prefault({}),
  circuitBreaker: circuitBreakerSchema.prefault({}),
  webhook: destinationWebhookSchema.optional(),
};

export const restDestinationSchema = z
  .strictObject({
    ...destinationCommon,
    type: z.literal('rest'),
    baseUrl: baseUrlField('https://erp.example.com'),
    /**
     * Bearer token (use `${ENV}` or `${ENV}` with an `ENV_FILE`); shorthand for `auth: {type: bearer, token}`.
     * Empty (a variable set to nothing): requests carry no credentials, which `config check` and the service's start warn of.
     */
    token: headerCredential(z.string()).optional(),
    /** Authentication; absent with no `token`: requests carry no credentials. */
    auth: restAuthSchema.optional(),
    /**
     * Batch endpoint. When set, up to `maxSize` deliveries go in one
     * `POST {path}` as `{requests:[{id,method,path,headers,body}]}`. @default none (one request per delivery)
     */
    batch: z
      .strictObject({
        path: z.string().startsWith('/', { error: echoed('does not start with /: write the path under baseUrl, e.g. /api/v1/$batch') }).default('/api/v1/$batch'),
        /** Largest number of requests in one batch. @default 50 */
        maxSize: z.number().int().min(1).max(1000).default(50),
      })
      .optional(),
    /** Request paths; `{erpAssetId}` is substituted (an inventory count's and on-hand read's path: `{location}`, `{sku}`, and `{erpAssetId}` for the SKU). */
    paths: z
      .strictObject({
        location: pathTemplate('/api/v1/assets/{erpAssetId}/location', ['erpAssetId']),
        workOrders: pathTemplate('/api/v1/work-orders', [], "this path is also read for every asset's work orders (GET ?updatedSince=, and by config check --connect), so it takes no placeholder; erpAssetId goes in the body"),
        workOrder: pathTemplate('/api/v1/work-orders/{workOrderId}', ['workOrderId']),
        meterReadings: pathTemplate('/api/v1/assets/{erpAssetId}/meter-readings', ['erpAssetId']),
        inventoryCounts: pathTemplate('/api/v1/inventory/counts', ['location', 'sku', 'erpAssetId']),
        usagePostings: pathTemplate('/api/v1/assets/{erpAssetId}/usage', ['erpAssetId']),
        /** GET a cell's on-hand quantity (`{location}`, `{sku}`), read by a full inventory snapshot. @default none (not read) */
        inventoryOnHand: onHandPathTemplate,
      })
      .prefault({}),
    /** Extra headers on every request (values may use `${ENV}`). */
    headers: httpHeaders.default({}),
    /** Header carrying the idempotency key. @default X-Idempotency-Key */
    idempotencyHeader: headerName.default('X-Idempotency-Key'),
    /** The ERP honours the idempotency header; when false, creates look before they create. @default true */
    idempotencySupported: z.boolean().default(true),
    /**
     * What a 409 answer to a write on each path means: `exists` (a create's record is already
     * there, an earlier attempt landed: it is looked up by `externalKey` and counted delivered with
     * its id), `retry` (a lock or a concurrent change: retried within `retry`), `fail` (dead letter
     * with the ERP's reason). @default auto: the ERP's reason decides (a lock or concurrent change
     * is retried, "already exists" on a create is delivered, any other 409 fails)
     */
    on409: z
      .strictObject({
        location: z.enum(['auto', 'retry', 'fail'], { error: echoed('is not allowed here: use auto, retry or fail (exists is for paths that create records; a location update creates none)') }).default('auto'),
        workOrders: conflictSetting(),
        /** A 409 to the PATCH at `paths.workOrder` that raises a work order's priority (`workorder.update`). */
        workOrder: z.enum(['auto', 'retry', 'fail'], { error: echoed('is not allowed here: use auto, retry or fail (exists is for paths that create records; raising a work order\'s priority creates none)') }).default('auto'),
        meterReadings: conflictSetting(),
        inventoryCounts: conflictSetting(),
        usagePostings: conflictSetting(),
      })
      .prefault({}),
    /**
     * The ERP's own work-order status values → the statuses the service follows (`TECO: completed`,
     * `"690970004": completed`), read before the built-in words (open, new, in-progress, started,
     * completed, closed, done, cancelled, ...). Compared trimmed and in any case. `ignore`: a status
     * that changes nothing (`PRINTED: ignore`), passed over; a status neither names is kept in
     * quarantine (it may be the ERP's word for completed), to replay once it is mapped. @default {}
     */
    workOrderStatuses: z.record(z.string().min(1), z.enum(['open', 'in-progress', 'completed', 'cancelled', 'ignore'])).default({}),
    /**
     * Where a listed or pushed work order holds what the service reads, as dotted paths
     * (`WorkOrderId`, `meter.hours`), for those the ERP names otherwise. @default the names themselves
     */
    workOrderFields: z
      .strictObject({
        id: z.string().min(1).optional(),
        status: z.string().min(1).optional(),
        updatedAt: z.string().min(1).optional(),
        operatingHoursAtCompletion: z.string().min(1).optional(),
        odometerKmAtCompletion: z.string().min(1).optional(),
      })
      .default({}),
    /**
     * Most pages of the work-order list (`GET {paths.workOrders}?updatedSince=`) one poll reads. A
     * list longer than that is read on at the next poll, and the poll cursor never passes a change
     * not read. @default 100
     */
    maxWorkOrderPages: z.number().int().min(1).max(10_000).default(100),
    /**
     * One query parameter that makes the ERP list polled work orders oldest change first (e.g.
     * `{param: $orderby, value: ChangedDateTime asc}`): a poll that stops at `maxWorkOrderPages`
     * then moves its cursor to the newest change it read. @default none (the ERP's own order)
     */
    workOrderOrder: z
      .strictObject({
        param: z
          .string()
          .min(1)
          .refine((p) => p !== 'updatedSince' && p !== 'externalKey', { error: echoed('is a parameter the connector sets itself: name the ERP\'s sort parameter, e.g. $orderby or sort') }),
        value: z.string().min(1),
      })
      .optional(),
    /** Body fields to redact in the audit trail, in addition to the built-in secret names. */
    redactFields: z.array(z.string()).default([]),
  })
  .superRefine((dest, ctx) => {
    // Said beside the destination's other refused values (a mistyped timeoutMs), not of a token or auth refused itself.
    if (accepted(ctx, ['token'], ['auth']) && dest.token !== undefined && dest.auth !== undefined)
      ctx.addIssue({ code: 'custom', path: ['auth'], message: 'set either `token` or `auth`, not both (`token: X` is short for `auth: {type: bearer, token: X}`)' });
  }, BESIDE_VALUE_PROBLEMS);
export type RestDestinationConfig = z.infer<typeof restDestinationSchema>;

/** What to do with a destination type this version has no connector for (`type: sap`). */
const ERP_TYPE_HINT =
  "This version has one ERP connector, the generic REST one (type: rest): point baseUrl and paths at the ERP's REST API or a middleware in front of it; SAP, Dynamics 365, Oracle and NetSuite connectors are planned (docs/adding-a-connector.md)";

export const destinationSchema = z.discriminatedUnion('type', [restDestinationSchema], {
  error: (iss) => (iss.code === 'invalid_union' && iss.discriminator !== undefined ? `${describeIssue(iss) ?? ''}. ${ERP_TYPE_HINT}` : undefined),
});
export type DestinationConfig = z.infer<typeof destinationSchema>;

/**
 * An asset listed in the config. Its ids, module and destination are read without spaces at either
 * end, as an asset CSV's cells are: `" EQ-1"` and `EQ-1` are one asset, not two sent to the ERP.
 */
export const assetSchema = z.strictObject({
  erpAssetId: z.string().trim().min(1),
  erpModule: z.string().trim().min(1).default('fixed-assets'),
  destination: z.string().trim().optional(),
  identifiers: z.array(z.strictObject({ type: z.enum(IDENTIFIER_TYPES), value: z.string().trim().min(1) })).min(1),
  attributes: z.record(z.string(), z.string()).default({}),
});

/** `scheme://…`: a URL (a database server's, `postgres://user:password@host/db`), which no file path starts with. */
export function isUrlLike(path: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
}

/** The default store file: relative to the config file's directory (or, with no file, the working directory). */
export const DEFAULT_STORE_PATH = './data/assetbridge.db';

export const configSchema = z.strictObject({
  store: z
    .strictObject({
      /**
       * SQLite file; in a config file, relative to the file's directory. A URL (`postgres://…`) is
       * refused, not taken for a file name: there is no database server store yet. @default ./data/assetbridge.db
       */
      path: z
        .string()
        // SQLite takes '' for a temporary database, deleted on close, and the commit worker would open another one.
        .min(1, 'is empty (a ${NAME} set to nothing?): name the SQLite file, e.g. ./data/assetbridge.db, or leave store.path out for that default')
        .refine((p) => !isUrlLike(p), {
          // Not echoed: a connection URL may carry a password.
          error: (iss) =>
            `a ${String(iss.input).slice(0, String(iss.input).indexOf(':'))}:// URL is not a store path: store.path names the SQLite file (e.g. ./data/assetbridge.db), and a PostgreSQL store (the scaled mode) is not built in this version; give a file path, and run one service per store`,
        })
        .default(DEFAULT_STORE_PATH),
      /** `full`: every commit survives power loss; `normal`: survives process crashes only, faster. @default full */
      synchronous: z.enum(['full', 'normal']).default('full'),
      /**
       * Commit ingest batches on a worker thread with its own connection, overlapping the SQLite
       * work of one batch with the decoding and rules of the next. @default true
       */
      commitInWorker: z.boolean().default(true),
      /** SQLite page cache per connection (two with commitInWorker), MiB. @default 8 */
      cacheMiB: z.number().positive().max(4096).default(8),
      /**
       * How long finished records are kept; the running service deletes older ones every `every`
       * (`assetbridge store prune` on demand). 0 keeps them for good.
       */
      retention: z
        .strictObject({
          /** Delivered state updates (locations, meter readings), after delivery. @default 7d */
          delivered: duration('7d'),
          /**
           * Delivered facts (work orders, inventory counts, usage postings), after delivery. Their
           * keys are kept for good (a replay or a second `depreciation post` still adds nothing);
           * their payloads and answers go. @default 0 (kept)
           */
          deliveredFacts: duration('0ms'),
          /** Audit records, except those of deliveries still pending or dead. @default 90d */
          audit: duration('90d'),
          /** Quarantine entries already replayed or discarded, after they were received. @default 30d */
          quarantine: duration('30d'),
          /** How often the service prunes. @default 1h */
          every: duration('1h').pipe(z.number().min(60_000, { error: (iss) => `${durationText(Number(iss.input))} is too often: prune at most once a minute (e.g. 1h)` })),
        })
        .prefault({}),
    })
    .prefault({}),
  ingest: z
    .strictObject({
      /**
       * Largest ingest transaction. Rule state is written at checkpoints, not per batch, so smaller
       * batches cost little and commit (and are acknowledged) sooner, which keeps more of them
       * overlapping with the next batch's work. @default 1000
       */
      maxBatch: z.number().int().min(1).default(1000),
      /** Longest a message waits for its batch to fill. @default 5ms */
      maxWaitMs: duration('5ms').pipe(timerDuration('5ms')),
      /** Batches that may be committing while the next one is prepared; 1 turns pipelining off. @default 4 */
      pipelineDepth: z.number().int().min(1).max(64).default(4),
      /**
       * Longest a rule-state change is held in memory (its message in the store's ingest log) before
       * a checkpoint stores it; 0 stores rule state with every batch. @default 5s
       */
      checkpointMs: duration('5s').pipe(timerDuration('5s')),
      /** Logged messages that force a checkpoint; bounds the replay after a crash. @default 50000 */
      checkpointMessages: z.number().int().positive().default(50_000),
      /**
       * With many changed assets, a checkpoint by count waits for this many logged messages per
       * changed asset (at most 10 × `checkpointMessages`): a checkpoint stores each changed asset's
       * state, so a large fleet draining a backlog would otherwise spend more time storing state
       * than ingesting. 0: `checkpointMessages` alone. @default 10
       */
      checkpointMessagesPerAsset: z.number().int().min(0).default(10),
      maxFutureSkewMs: duration('5m'),
      /** Payloads larger than this are quarantined as too large, unparsed (their first 64 KiB kept). @default 1048576 */
      maxPayloadBytes: z.number().int().positive().default(1_048_576),
      /** Quarantine events older than this as stale; 0 keeps all. @default 0 */
      maxAgeMs: duration('0ms'),
    })
    .prefault({}),
  /**
   * A copy of every accepted event in daily JSONL files, the input `rules test --events` reads, so
   * changed rules can be tried on real input. Absent: nothing is captured.
   */
  capture: z
    .strictObject({
      /** Directory for `events-YYYY-MM-DD.jsonl` (UTC days); in a config file, relative to the file's directory. */
      dir: z.string({ error: 'name the directory for the daily event files, e.g. ./capture' }).min(1, 'name the directory for the daily event files, e.g. ./capture'),
      /** Days of files kept besides today's; 0 keeps every file. @default 7 */
      keepDays: z.number().int().min(0).default(7),
      /** Largest size of one day's file, MiB; beyond it that day's events are not captured. @default 1024 */
      maxFileMiB: z.number().positive().default(1024),
    })
    .optional(),
  sources: z
    .strictObject({
      mqtt: z.array(mqttSourceSchema).default([]),
      http: httpIntakeSchema.optional(),
    })
    .prefault({}),
  destinations: z.array(destinationSchema).min(1, 'configure at least one destination'),
  /** Destination for assets that do not name one. @default the first destination */
  defaultDestination: z.string().optional(),
  assets: z
    .strictObject({
      /** CSV files imported at start (identifier,id_type,erp_asset_id,erp_module,...). */
      files: z.array(z.string()).default([]),
      inline: z.array(assetSchema).default([]),
    })
    .prefault({}),
  /** Business rules: location sync, zones, maintenance, inventory, depreciation (src/config/rules-schema.ts). */
  rules: rulesSchema.prefault({}),
  /** Telematics providers pulled over ISO 15143-3 (src/config/telematics-schema.ts). */
  telematics: z.array(telematicsSchema).default([]),
  server: z
    .strictObject({
      /** Admin API, health, metrics and HTTP intake. @default 127.0.0.1 */
      host: z
        .string()
        // Node listens on every interface for an empty host: the admin API would be open to the network, not to this host alone.
        .regex(/\S/, {
          error: 'is empty (a ${NAME} set to nothing?): the server would listen on every network interface; give the address to listen on, e.g. 127.0.0.1 (the default: leave server.host out), or 0.0.0.0 for every interface on purpose',
        })
        .default('127.0.0.1'),
      /** 0 disables the server. @default 8080 */
      port: z.number().int().min(0).max(65535).default(8080),
    })
    .prefault({}),
  shutdown: z.strictObject({ graceMs: duration('10s').pipe(timerDuration('10s')) }).prefault({}),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
});

export type RetentionConfig = z.infer<typeof configSchema>['store']['retention'];
export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** The destination of assets that do not name one: `defaultDestination`, else the first destination. */
export function defaultDestinationOf(config: Pick<Config, 'defaultDestination' | 'destinations'>): string {
  return config.defaultDestination ?? (config.destinations[0] as Config['destinations'][number]).name;
}
