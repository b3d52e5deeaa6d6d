import { describe, expect, it } from 'vitest';
import { AuthError, ConflictError, PermanentError, RateLimitedError, RetryableError, type DeliveryError } from '../../../core/errors/errors.js';
import { classifyNetworkFailure, classifyResponse, conflictMeaning, erpReason } from './rest-errors.js';

const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const body = JSON.stringify({ error: { code: 'E42', message: 'asset EQ-9 is locked' } });

describe('classifyResponse', () => {
  const table: [number, (new (...args: never[]) => Error) | undefined][] = [
    [200, undefined],
    [201, undefined],
    [204, undefined],
    [400, PermanentError],
    [401, AuthError],
    [403, PermanentError],
    [404, PermanentError],
    [408, RetryableError],
    [409, PermanentError],
    [410, PermanentError],
    [412, PermanentError],
    [422, PermanentError],
    [423, ConflictError],
    [429, RateLimitedError],
    [500, RetryableError],
    [502, RetryableError],
    [503, RateLimitedError],
    [504, RetryableError],
    [302, PermanentError],
  ];
  it.each(table)('%i → %s', (status, expected) => {
    const error = classifyResponse({ status, bodyText: body, recordedBody: body }, 'POST /x', NOW);
    if (expected === undefined) {
      expect(error).toBeUndefined();
      return;
    }
    expect(error).toBeInstanceOf(expected);
    expect(error?.status).toBe(status);
    expect(error?.responseBody).toBe(body);
    expect(error?.message).toContain('POST /x');
    expect(error?.message).toContain('E42: asset EQ-9 is locked');
  });

  it('423 Locked (a user holds the record open) is retried, after its Retry-After when it gives one, and does not count against the destination', () => {
    const locked = classifyResponse({ status: 423, retryAfter: '20', bodyText: body }, 'PATCH /api/v1/assets/EQ-9/location', NOW);
    expect(locked).toBeInstanceOf(ConflictError);
    expect(locked?.retryable).toBe(true);
    expect((locked as ConflictError).retryAfterMs).toBe(20_000);
    expect(locked?.message).toBe(
      "PATCH /api/v1/assets/EQ-9/location → 423 locked: E42: asset EQ-9 is locked (the record is locked, e.g. open in a user's session: retried after its Retry-After of 20 s; after retry.maxAttempts attempts it goes to dead letters)",
    );
    expect((classifyResponse({ status: 423, bodyText: '' }, 'c', NOW) as ConflictError).retryAfterMs).toBeUndefined();
  });

  it('marks exactly the classes the dispatcher may retry', () => {
    expect(classifyResponse({ status: 422, bodyText: '' }, 'c', NOW)?.retryable).toBe(false);
    expect(classifyResponse({ status: 500, bodyText: '' }, 'c', NOW)?.retryable).toBe(true);
    expect(classifyResponse({ status: 401, bodyText: '' }, 'c', NOW)?.retryable).toBe(true);
  });

  it('parses Retry-After given in seconds', () => {
    const error = classifyResponse({ status: 429, retryAfter: '17', bodyText: '' }, 'c', NOW);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBe(17_000);
    expect(error?.message).toContain('Retry-After 17 s');
  });

  it('parses Retry-After given as an HTTP date', () => {
    const date = new Date(NOW + 90_000).toUTCString();
    const error = classifyResponse({ status: 503, retryAfter: date, bodyText: '' }, 'c', NOW) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfterMs).toBe(90_000);
  });

  it("reads NetSuite's 400 SSS_REQUEST_LIMIT_EXCEEDED (a RESTlet over the account's concurrency limit) as throttling, not a dead letter", () => {
    const limited = JSON.stringify({ error: { code: 'SSS_REQUEST_LIMIT_EXCEEDED', message: 'Request limit exceeded. Please try again later.' } });
    const error = classifyResponse({ status: 400, retryAfter: '5', bodyText: limited, recordedBody: limited }, 'POST /app/site/hosting/restlet.nl', NOW);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error?.status).toBe(400);
    expect((error as RateLimitedError).retryAfterMs).toBe(5000);
    expect(error?.message).toContain('SSS_REQUEST_LIMIT_EXCEEDED');
    // In NetSuite's REST shape too (the code as o:errorCode).
    const details = JSON.stringify({ title: 'Bad Request', status: 400, 'o:errorDetails': [{ detail: 'Request limit exceeded.', 'o:errorCode': 'SSS_REQUEST_LIMIT_EXCEEDED' }] });
    expect(classifyResponse({ status: 400, bodyText: details }, 'c', NOW)).toBeInstanceOf(RateLimitedError);
    // Another 400 stays permanent, whatever its words say of limits.
    const invalid = JSON.stringify({ error: { code: 'INVALID_FLD_VALUE', message: 'the quantity exceeds the request limit of 10' } });
    expect(classifyResponse({ status: 400, bodyText: invalid }, 'c', NOW)).toBeInstanceOf(PermanentError);
  });

  it('leaves retryAfterMs undefined without a usable header', () => {
    expect((classifyResponse({ status: 429, bodyText: '' }, 'c', NOW) as RateLimitedError).retryAfterMs).toBeUndefined();
    expect((classifyResponse({ status: 429, retryAfter: 'soon', bodyText: '' }, 'c', NOW) as RateLimitedError).retryAfterMs).toBeUndefined();
  });

  it('scrubs secrets out of the quoted ERP reason', () => {
    const error = classifyResponse({ status: 400, bodyText: '{"message":"bad token tok-123"}' }, 'c', NOW, (t) => t.replace('tok-123', '[REDACTED]'));
    expect(error?.message).not.toContain('tok-123');
  });
});

describe('what the error of a write that may have landed says keeps its retry from applying it twice', () => {
  // Was: always "the retry carries the same idempotency key", also to an ERP that ignores the key
  // (idempotencySupported: false), where a create is safe because it is looked up by its externalKey first.
  const KEY = '; the ERP may have applied it, the retry carries the same idempotency key';
  const IGNORED = '; the ERP may have applied it; it ignores the idempotency key (idempotencySupported: false),';
  const said = {
    key: KEY,
    create: `${IGNORED} so the retry first looks the record up by its externalKey and does not create it again if it is there`,
    update: `${IGNORED} and the update sent again sets the same values`,
    batch: `${IGNORED} so the retry first looks up each record it creates by its externalKey (an update is sent again, setting the same values)`,
  } as const;

  it('a 5xx, a timeout and a reset: the idempotency key where the ERP honours it, the lookup by externalKey for a create where it does not', () => {
    for (const [keyIgnored, note] of Object.entries(said) as [keyof typeof said, string][]) {
      const options = keyIgnored === 'key' ? {} : { keyIgnored };
      const answered = classifyResponse({ status: 500, bodyText: '' }, 'POST /usage', NOW, undefined, options);
      expect(answered?.message).toBe(`POST /usage → 500${note}`);
      expect(classifyNetworkFailure({ kind: 'timeout', message: 'no answer within 50 ms' }, 'POST /usage', options).message).toBe(`POST /usage → timeout: no answer within 50 ms${note}`);
      expect(classifyNetworkFailure({ kind: 'connection-reset', message: 'other side closed' }, 'POST /usage', options).message).toBe(`POST /usage → connection-reset: other side closed${note}`);
    }
    expect(said.create).not.toContain('carries the same idempotency key');
  });

  it('changes no classification: the same class, status and unknown outcome with or without the key honoured', () => {
    const shape = (e: DeliveryError | undefined) => e && { cls: e.constructor.name, status: e.status, retryable: e.retryable, outcomeUnknown: e.outcomeUnknown };
    for (const keyIgnored of ['create', 'update', 'batch'] as const) {
      for (const status of [400, 401, 404, 408, 409, 423, 429, 500, 502, 503, 504, 302]) {
        for (const read of [false, true]) {
          expect(shape(classifyResponse({ status, bodyText: '{"message":"x"}' }, 'c', NOW, undefined, { read, keyIgnored }))).toEqual(shape(classifyResponse({ status, bodyText: '{"message":"x"}' }, 'c', NOW, undefined, { read })));
        }
      }
      for (const kind of ['timeout', 'connection-reset', 'connection-refused', 'dns', 'tls', 'aborted', 'network'] as const) {
        for (const read of [false, true]) {
          const failure = { kind, message: 'x' };
          expect(shape(classifyNetworkFailure(failure, 'c', { read, keyIgnored }))).toEqual(shape(classifyNetworkFailure(failure, 'c', { read })));
        }
      }
    }
  });

  it('a read, or a write that cannot have landed, says nothing of either', () => {
    expect(classifyResponse({ status: 500, bodyText: '' }, 'GET /usage', NOW, undefined, { read: true, keyIgnored: 'create' })?.message).toBe('GET /usage → 500');
    expect(classifyNetworkFailure({ kind: 'connection-refused', message: 'ECONNREFUSED' }, 'POST /usage', { keyIgnored: 'create' }).message).toBe('POST /usage → connection-refused: ECONNREFUSED');
  });
});

describe('classifyNetworkFailure', () => {
  it('makes every network failure retryable and says when the write may have landed', () => {
    const reset = classifyNetworkFailure({ kind: 'connection-reset', message: 'other side closed' }, 'POST /wo');
    expect(reset).toBeInstanceOf(RetryableError);
    expect(reset.message).toContain('may have applied');
    const refused = classifyNetworkFailure({ kind: 'connection-refused', message: 'ECONNREFUSED' }, 'POST /wo');
    expect(refused).toBeInstanceOf(RetryableError);
    expect(refused.message).not.toContain('may have applied');
    expect(classifyNetworkFailure({ kind: 'timeout', message: 'no response' }, 'c').retryable).toBe(true);
    expect(classifyNetworkFailure({ kind: 'aborted', message: 'shutdown' }, 'c').retryable).toBe(true);
  });

  it('a read (GET, HEAD) or a token request applies nothing: no unknown outcome, no word of an idempotency key', () => {
    for (const kind of ['timeout', 'connection-reset', 'aborted', 'network'] as const) {
      const read = classifyNetworkFailure({ kind, message: 'x' }, 'GET /wo', { read: true });
      expect(read.outcomeUnknown).toBe(false);
      expect(read.message).toBe(`GET /wo → ${kind}: x`);
    }
  });
});

describe('which failures leave the outcome unknown (the request may still land at the ERP)', () => {
  it.each([
    ['timeout', true],
    ['connection-reset', true],
    ['aborted', true],
    ['network', true],
    ['connection-refused', false],
    ['dns', false],
    ['tls', false],
  ] as const)('network failure %s → %s', (kind, unknown) => {
    expect(classifyNetworkFailure({ kind, message: 'x' }, 'PATCH /loc').outcomeUnknown).toBe(unknown);
  });

  it.each([
    [502, true],
    [504, true],
    // A 500 can come after the ERP committed the write (a hook or the answer failed after it).
    [500, true],
    [501, true],
    [507, true],
    [408, false],
    [503, false],
    [429, false],
    [422, false],
    [401, false],
  ])('status %i to a write → %s', (status, unknown) => {
    expect(classifyResponse({ status, bodyText: '' }, 'PATCH /loc', NOW)?.outcomeUnknown).toBe(unknown);
  });

  it.each([500, 502, 504])('status %i to a read (a lookup, a token request) → known: it changed nothing', (status) => {
    const error = classifyResponse({ status, bodyText: '' }, 'GET /work-orders?externalKey=k', NOW, undefined, { read: true });
    expect(error?.retryable).toBe(true);
    expect(error?.outcomeUnknown).toBe(false);
  });
});

describe('a 428 (OData optimistic concurrency)', () => {
  it('says the ERP wants an If-Match ETag, which the connector does not send', () => {
    const error = classifyResponse({ status: 428, bodyText: '{"error":{"code":"","message":"If-Match header is required"}}' }, 'PATCH /api/v1/assets/EQ-1/location', NOW);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error?.message).toBe(
      "PATCH /api/v1/assets/EQ-1/location → 428 precondition required (the ERP wants an If-Match with the record's ETag, which the REST connector does not send: let the middleware in front of the ERP read the record and send its ETag): If-Match header is required",
    );
  });
});

describe('erpReason', () => {
  it.each([
    ['{"error":{"code":"0x80040237","message":"Duplicate key"}}', '0x80040237: Duplicate key'],
    ['{"error":{"code":"ZPM/123","message":{"lang":"en","value":"Equipment locked"}}}', 'ZPM/123: Equipment locked'],
    ['{"message":"title is required"}', 'title is required'],
    ['{"error":"invalid_client","error_description":"bad secret"}', 'invalid_client (bad secret)'],
    ['{"errors":[{"message":"a"},{"message":"b"}]}', 'a; b'],
    ['{"title":"Bad Request","detail":"sku is missing"}', 'sku is missing'],
    ['{"o:errorDetails":[{"detail":"Invalid field value"}]}', 'Invalid field value'],
    // A web server's error page where the API was expected (a wrong path): its title, not its doctype and styles.
    [
      '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">\n<head>\n<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>\n<title>404 - File or directory not found.</title>\n<style type="text/css">\n<!--\nbody{margin:0;font-size:.7em;font-family:Verdana, Arial, Helvetica, sans-serif;background:#EEEEEE;}\nfieldset{padding:0 15px 10px 15px;}\nh1{font-size:2.4em;margin:0;color:#FFF;}\n-->\n</style>\n</head>\n<body><div id="header"><h1>Server Error</h1></div></body></html>',
      'an HTML page saying "404 - File or directory not found: Server Error"',
    ],
    ['<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>', 'an HTML page saying "502 Bad Gateway"'],
    ['<html><body><p>Service &amp; API temporarily down</p></body></html>', 'an HTML page saying "Service & API temporarily down"'],
    // OData V2's XML error (SAP Gateway, where JSON was not negotiated): its code and message, not the declaration and namespace.
    [
      '<?xml version="1.0" encoding="utf-8"?><error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><code>IW/139</code><message xml:lang="en">Equipment 10000042 does not exist</message><innererror><transactionid>5F2C</transactionid><errordetails/></innererror></error>',
      'IW/139: Equipment 10000042 does not exist',
    ],
    ['<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>Field &quot;hours&quot; is invalid</faultstring></soap:Fault></soap:Body></soap:Envelope>', 'soap:Client: Field "hours" is invalid'],
    // Text that merely mentions a tag is no page.
    ['Expected <html> but got text', 'Expected <html> but got text'],
    // NetSuite's REST record API: the code that says which error it is, beside its detail.
    [
      '{"type":"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1","title":"Bad Request","status":400,"o:errorDetails":[{"detail":"Invalid value for the resource or sub-resource field \'custrecord_hours\'.","o:errorPath":"custrecord_hours","o:errorCode":"INVALID_VALUE"}]}',
      "INVALID_VALUE: Invalid value for the resource or sub-resource field 'custrecord_hours'.",
    ],
    [
      JSON.stringify({
        exc_type: 'MandatoryError',
        exc: JSON.stringify(['Traceback (most recent call last):\n  File "apps/frappe/frappe/app.py", line 95']),
        _server_messages: JSON.stringify([JSON.stringify({ message: 'Value missing for <strong>Asset</strong>: Item Code', indicator: 'red' })]),
      }),
      'MandatoryError: Value missing for Asset: Item Code',
    ],
    ['{"exc":"[\\"Traceback\\"]","exception":"frappe.exceptions.TimestampMismatchError: Document has been modified after you have opened it"}', 'TimestampMismatchError: Document has been modified after you have opened it'],
    ['Service   Unavailable\n', 'Service Unavailable'],
    ['', ''],
  ])('%s → %s', (text, expected) => {
    expect(erpReason(text)).toBe(expected);
  });

  it('shortens long reasons', () => {
    expect(erpReason('x'.repeat(1000)).length).toBeLessThanOrEqual(301);
  });
});

describe('conflictMeaning (a 409 answer to a write)', () => {
  const odata = (code: string, message: string) => JSON.stringify({ error: { code, message } });
  it.each([
    // Locks and concurrent changes pass once the other writer is done.
    [odata('RecordLocked', '/api/v1/assets/EQ-1/location is locked by user PLANNER-7; try again later'), true, 'retry'],
    [odata('E42', 'asset EQ-9 is locked'), false, 'retry'],
    ['{"exception":"frappe.exceptions.TimestampMismatchError: Document has been modified after you have opened it"}', false, 'retry'],
    [odata('Conflict', 'Another request with this idempotency key is in progress'), true, 'retry'],
    [odata('Conflict', 'The record was modified by another user'), false, 'retry'],
    // "Already exists" on a create: the earlier attempt landed.
    [odata('DuplicateEntry', 'work order WO-1 already exists with externalKey EQ-1|temp|1'), true, 'exists'],
    [JSON.stringify({ exc_type: 'DuplicateEntryError', exception: "frappe.exceptions.DuplicateEntryError: ('Asset Repair', 'AR-0001')" }), true, 'exists'],
    [odata('23505', 'duplicate key value violates unique constraint "wo_external_key"'), true, 'exists'],
    ['{"o:errorDetails":[{"detail":"A record with this external ID has already been created","o:errorCode":"IDEMPOTENCY_ERROR"}]}', true, 'exists'],
    // ... but not on a location update, which creates nothing.
    [odata('DuplicateEntry', 'already exists'), false, 'fail'],
    // Anything else stays permanent.
    [odata('InvalidState', 'asset EQ-1 is retired: no work orders can be opened'), true, 'fail'],
    ['Conflict', true, 'fail'],
    ['', true, 'fail'],
  ] as const)('auto: %s (create: %s) → %s', (bodyText, isCreate, expected) => {
    expect(conflictMeaning(bodyText, 'auto', isCreate)).toBe(expected);
  });

  it('a lock is read before "already exists": taking a lock for one would count undelivered work as delivered', () => {
    expect(conflictMeaning(odata('Conflict', 'a duplicate request is being processed; try again'), 'auto', true)).toBe('retry');
  });

  it('leaves out what the request carried, which the ERP quotes back: a key or title with a lock word in it', () => {
    const quoted = odata('DuplicateEntry', 'work order WO-1 already exists with externalKey EQ-1|door-lock|1 ("Hydraulic lock: retry valve")');
    expect(conflictMeaning(quoted, 'auto', true)).toBe('retry');
    expect(conflictMeaning(quoted, 'auto', true, ['EQ-1', 'EQ-1|door-lock|1', 'Hydraulic lock: retry valve'])).toBe('exists');
    // Only whole values: the ERP's own lock words stay, even where a value is part of them.
    expect(conflictMeaning(odata('RecordLocked', 'EQ-1 is locked by user PLANNER-7'), 'auto', true, ['EQ-1', 'lock', 'Locked'])).toBe('retry');
  });

  it("the destination's setting wins over the ERP's words", () => {
    const retired = odata('InvalidState', 'asset EQ-1 is retired');
    expect(conflictMeaning(retired, 'retry', true)).toBe('retry');
    expect(conflictMeaning(retired, 'exists', true)).toBe('exists');
    expect(conflictMeaning(odata('RecordLocked', 'locked'), 'fail', true)).toBe('fail');
    // `exists` means nothing for a write that creates nothing (the schema refuses it for location).
    expect(conflictMeaning(retired, 'exists', false)).toBe('fail');
  });
});
