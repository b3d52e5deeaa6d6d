import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILTIN_SECRET_FIELDS, REDACTED, createRedactor, truncateText } from './redact.js';

describe('createRedactor', () => {
  const redactor = createRedactor({ fields: ['ssn'] });

  it('redacts every built-in secret name in nested JSON, in any case and spelling', () => {
    const body = {
      user: 'alice',
      Password: 'p1',
      nested: { client_secret: 'c1', clientSecret: 'c2', 'X-Api-Key': 'k1', list: [{ access_token: 't1' }, { refreshToken: 't2' }] },
      Authorization: 'Bearer abc',
      apikey: 'k2',
      secret: 's',
      token: 't3',
      sessionToken: 't4',
      ssn: '123-45',
      count: 3,
    };
    const out = redactor.text(JSON.stringify(body));
    for (const value of ['p1', 'c1', 'c2', 'k1', 't1', 't2', 'abc', 'k2', 't3', 't4', '123-45']) expect(out).not.toContain(value);
    const parsed = JSON.parse(out);
    expect(parsed.user).toBe('alice');
    expect(parsed.count).toBe(3);
    expect(parsed.nested.list[0].access_token).toBe(REDACTED);
    expect(parsed.ssn).toBe(REDACTED);
  });

  // Was: only `-`, `_` and white space were separators, so a name with a `.` or another character
  // an HTTP header name may hold (X.Api.Key, X~Api~Key) escaped the secret suffixes, in a body, in
  // text and as a header (Proxy.Authorization).
  it('takes a name with any character an HTTP header name may hold (. ~ ! | …) as its spelling with - does', () => {
    for (const name of ['X.Api.Key', 'X~Api~Key', 'X!Api!Key', 'X|Api|Key', 'X^Auth^Token', 'Client.Secret', 'Proxy.Authorization', 'X.Session.Cookie', 'Db.Password', "X#Api$Key%&'*+`Y.Token"]) {
      expect(redactor.isSecretHeader(name), name).toBe(true);
      expect(redactor.headers({ [name]: 'H-S3CR3T-1' }), name).toEqual({ [name]: REDACTED });
    }
    expect(redactor.value({ 'api.key': 'k1', 'client.secret': 'c1', 'x~auth~token': 't1', 'db.password': 'p1', 'user.name': 'alice' })).toEqual({
      'api.key': REDACTED,
      'client.secret': REDACTED,
      'x~auth~token': REDACTED,
      'db.password': REDACTED,
      'user.name': 'alice',
    });
    const text = redactor.text('the upstream refused X.Api.Key: TXT-S3CR3T-1, X~Auth~Token=TXT-S3CR3T-2 and X|Secret: "TXT-S3CR3T-3"');
    expect(text).not.toMatch(/TXT-S3CR3T/);
    expect(text).toContain('X.Api.Key: [REDACTED]');
    // Names that are no secret's stay as they were.
    expect(redactor.isSecretHeader('X.Tenant.Id')).toBe(false);
    expect(redactor.text('X.Tenant.Id: acme-7')).toBe('X.Tenant.Id: acme-7');
  });

  it('covers each documented built-in name', () => {
    for (const name of BUILTIN_SECRET_FIELDS) expect(redactor.isSecretField(name.toUpperCase())).toBe(true);
    expect(redactor.isSecretField('title')).toBe(false);
    expect(redactor.isSecretField('tokenUrl')).toBe(false);
  });

  it('redacts form-encoded bodies (OAuth token requests)', () => {
    const out = redactor.text('grant_type=client_credentials&client_id=app&client_secret=s3cr3t&scope=erp');
    expect(out).not.toContain('s3cr3t');
    expect(out).toContain('client_id=app');
    expect(out).toContain('grant_type=client_credentials');
  });

  it('redacts unparseable text by pattern, including truncated JSON and bearer credentials', () => {
    const out = redactor.text('{"token": "abc123", "password": "hunter2", "note": "Authorization: Bearer eyJhbGciOi.x.y" ');
    expect(out).not.toContain('abc123');
    expect(out).not.toContain('hunter2');
    expect(out).not.toContain('eyJhbGciOi');
  });

  it('leaves the words of an error message after a secret-like name: "InvalidToken: the access token has expired"', () => {
    for (const message of [
      'InvalidToken: the access token has expired',
      'invalid_token: The access token expired',
      'ExpiredToken: a new token is required',
      'Error 401 InvalidToken: token expired.',
      'password: not set for user alice',
      'refresh_token: missing from the request',
      'InvalidToken: access token has expired',
      'InvalidToken: expired.',
      'access_token: invalid or expired',
    ])
      expect(redactor.text(message)).toBe(message);
  });

  it('leaves "bearer token" and the scheme of a placeholder as written, and still redacts the credential after a scheme', () => {
    const reason = 'missing or wrong bearer token; send Authorization: Bearer <sources.http.token>, or sign the body (webhook.secret on the destination)';
    expect(redactor.text(reason)).toBe(reason);
    expect(redactor.text('webhooks are off: set sources.http.token (bearer token)')).toBe('webhooks are off: set sources.http.token (bearer token)');
    expect(redactor.text('sent Authorization: Bearer eyJhbGciOi.x.y')).toBe(`sent Authorization: Bearer ${REDACTED}`);
    expect(redactor.text('Authorization: Basic dXNlcjpwYXNz refused')).toBe(`Authorization: Basic ${REDACTED} refused`);
    expect(redactor.text('bearer abc123token')).toBe(`bearer ${REDACTED}`);
    expect(redactor.text('password: Bearer')).toBe(`password: ${REDACTED}`); // another secret-named field: its value, whatever it is
  });

  it('redacts credential query parameters whose names are no secret field (?key=, ?sig=, ?code=) in a URL and in text', () => {
    expect(redactor.url('https://fn.example/api/x?code=AZF-S3CR3T-1&page=2&key=GK-S3CR3T-2')).toBe(
      `https://fn.example/api/x?code=${encodeURIComponent(REDACTED)}&page=2&key=${encodeURIComponent(REDACTED)}`,
    );
    expect(redactor.text('GET https://blob.example/c?sv=2024&sig=SAS-S3CR3T-3&se=x failed: 403')).toBe(`GET https://blob.example/c?sv=2024&sig=${REDACTED}&se=x failed: 403`);
    // The same names outside a query are ordinary words.
    expect(redactor.text('code: 42, key=asset-7')).toBe('code: 42, key=asset-7');
  });

  it('redacts the signature of a pre-signed link (?X-Amz-Signature=, ?X-Goog-Signature=) in a URL and in text', () => {
    const link = 'https://files.example/p2?X-Amz-Date=20261205T000000Z&X-Amz-Expires=604800&X-Amz-Signature=4f1c0aS3CR3T9b&page=2';
    expect(redactor.url(link)).toBe(link.replace('4f1c0aS3CR3T9b', encodeURIComponent(REDACTED)));
    expect(redactor.text(`GET ${link} failed: 403`)).toBe(`GET ${link.replace('4f1c0aS3CR3T9b', REDACTED)} failed: 403`);
    expect(redactor.url('https://storage.example/o?X-Goog-Signature=77aaS3CR3T')).not.toContain('S3CR3T');
  });

  it('redacts an API key sent in the query (?subscription-key=, ?access_key=), not a lookup key (?externalKey=)', () => {
    // Azure API Management in front of an ERP takes its key so; a destination's paths.* may carry it.
    const url = 'https://apim.example/erp/api/v1/work-orders?subscription-key=9f3aS3CR3T&externalKey=wo-1';
    expect(redactor.url(url)).toBe(url.replace('9f3aS3CR3T', encodeURIComponent(REDACTED)));
    expect(redactor.text(`GET ${url} → 500`)).toBe(`GET ${url.replace('9f3aS3CR3T', REDACTED)} → 500`);
    expect(redactor.url('https://h.example/x?access_key=AK-S3CR3T')).not.toContain('S3CR3T');
  });

  it('redacts the whole password of a URL quoted in text when it holds an @ (to the last @, as a URL parser reads it)', () => {
    expect(redactor.text('connect to amqp://ab:S3CR3T@part@rabbit:5672/ failed')).toBe(`connect to amqp://ab:${REDACTED}@rabbit:5672/ failed`);
    expect(redactor.url('amqp://ab:S3CR3T@part@rabbit:5672/')).not.toContain('S3CR3T');
  });

  it('scrubs a configured secret an answer echoes escaped in JSON or percent-encoded, not only as it is', () => {
    const secret = 'pa ss/w"rd+S3CR3T\\x';
    const r = createRedactor({ secrets: () => [secret] });
    for (const echoed of [
      JSON.stringify({ error: `client secret ${secret} refused` }),
      `{"error":"client ${JSON.stringify(secret).slice(1, -1).replaceAll('/', '\\/')} refused"`,
      `refused: client ${encodeURIComponent(secret)} bad`,
      `refused: ${new URLSearchParams({ client: secret }).toString()} bad`,
    ]) {
      const out = r.text(echoed);
      expect(out).toContain(REDACTED);
      expect(out).not.toContain('S3CR3T');
    }
    expect(r.url(`https://erp.example/x?q=${encodeURIComponent(secret)}`)).not.toContain('S3CR3T');
  });

  it('scrubs a configured secret with a space in it whole, though a pattern matches its first word (Bearer)', () => {
    const r = createRedactor({ secrets: () => ['TOK S3CR3T\nx'] });
    const message = 'GET https://t.example/Fleet/1 failed: Headers.append: "Bearer TOK S3CR3T\nx" is an invalid header value.';
    expect(r.text(message)).toBe('GET https://t.example/Fleet/1 failed: Headers.append: "Bearer [REDACTED]" is an invalid header value.');
    expect(r.url('https://t.example/x?q=TOK S3CR3T\nx')).not.toContain('S3CR3T');
  });

  it('redacts single-quoted pairs (a Python dict an error quotes) and XML elements of a secret name', () => {
    expect(redactor.text("500: bad login {'user': 'svc', 'password': 'PY-S3CR3T-1'}")).toBe(`500: bad login {'user': 'svc', 'password': '${REDACTED}'}`);
    expect(redactor.text('<fault><user>svc</user><Password>XML-S3CR3T-2</Password><ns:Token a="1">XML-S3CR3T-3</ns:Token></fault>')).toBe(
      `<fault><user>svc</user><Password>${REDACTED}</Password><ns:Token a="1">${REDACTED}</ns:Token></fault>`,
    );
  });

  it('redacts passwd, pwd, passphrase, private keys and client assertions like passwords', () => {
    const out = redactor.text('{"db":{"passwd":"P1-S3CR3T","pwd":"P2-S3CR3T","keyPassphrase":"P3-S3CR3T","privateKey":"P4-S3CR3T","client_assertion":"P5-S3CR3T"},"id":7}');
    expect(out).not.toContain('S3CR3T');
    expect(JSON.parse(out)).toMatchObject({ id: 7, db: { passwd: REDACTED, pwd: REDACTED } });
    expect(redactor.text('login failed: pwd=P6-S3CR3T')).toBe(`login failed: pwd=${REDACTED}`);
  });

  it('redacts a quoted or bracketed credential after Bearer or Basic, and one after any other Authorization scheme', () => {
    const cases: [string, string][] = [
      ['Authorization: Bearer "QUOTED-S3CR3T-1" refused', `Authorization: Bearer "${REDACTED}" refused`],
      ["Authorization: Bearer 'QUOTED-S3CR3T-2'", `Authorization: Bearer '${REDACTED}'`],
      ['token was Bearer (PAREN-S3CR3T-3)', `token was Bearer (${REDACTED})`],
      ['Authorization: Basic "dXNlcjpTM0NSM1Q="', `Authorization: Basic "${REDACTED}"`],
      ['Bearer ab!S3CR3T#4 rejected', `Bearer ${REDACTED} rejected`],
      ['Authorization: Token TOK-S3CR3T-5', `Authorization: Token ${REDACTED}`],
      ['Authorization: ApiKey KEY-S3CR3T-6', `Authorization: ApiKey ${REDACTED}`],
      ['Proxy-Authorization: Digest username="u", response="DIG-S3CR3T-7"\nnext line', `Proxy-Authorization: Digest ${REDACTED}\nnext line`],
      ['Authorization: AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=SIG-S3CR3T-8', `Authorization: AWS4-HMAC-SHA256 ${REDACTED}`],
      // Was: a credential sent without a scheme was taken for one, and only the words after it redacted.
      ['said: Authorization: sk_live_S3CR3T9 was rejected\nnext line', `said: Authorization: ${REDACTED}\nnext line`],
      ['authorization=S3CR3T-10 expired', `authorization=${REDACTED}`],
      ['"Authorization": "Custom S3CR3T-11"', `"Authorization": "${REDACTED}"`],
    ];
    for (const [input, expected] of cases) {
      expect(redactor.text(input)).toBe(expected);
      expect(redactor.text(input)).not.toContain('S3CR3T');
    }
    // A placeholder is a hint of what to send, not a credential.
    expect(redactor.text('send Authorization: Bearer <sources.http.token>')).toBe('send Authorization: Bearer <sources.http.token>');
  });

  it('still redacts a value after a secret-like name that is no ordinary word, quoted, or given with =', () => {
    const cases: [string, string][] = [
      ['token: abc123def rejected', `token: ${REDACTED} rejected`],
      ['InvalidToken: eyJhbGciOi.x.y has expired', `InvalidToken: ${REDACTED} has expired`],
      ['password: hunter2', `password: ${REDACTED}`],
      ['password: letmein was refused', `password: ${REDACTED} was refused`],
      // Nouns that are also weak passwords are never taken for prose.
      ['password: secret', `password: ${REDACTED}`],
      ['secret: password', `secret: ${REDACTED}`],
      ['api_key: Q7xv9Lmz', `api_key: ${REDACTED}`],
      // Only prose (a colon and a space before a bare word) can hold an English word.
      ['login failed, token=the', `login failed, token=${REDACTED}`],
      ['token:the', `token:${REDACTED}`],
      ['"token": "the" (truncated', `"token": "${REDACTED}" (truncated`],
      ['"token": the', `"token": ${REDACTED}`],
      ['token = the', `token = ${REDACTED}`],
      // After an ordinary name's colon: the pair is its value, not prose.
      ['error: password=hunter2', `error: password=${REDACTED}`],
      ['login failed: token=abc123def', `login failed: token=${REDACTED}`],
      ['failed: client_secret=shh-123 rejected', `failed: client_secret=${REDACTED} rejected`],
    ];
    for (const [input, expected] of cases) expect(redactor.text(input)).toBe(expected);
  });

  // Was: the value of an ordinary name took the next name and its colon (`said: X-Api-Key:`), found
  // no pair in it, and the secret after it was never read; `InvalidToken: password: …` took
  // `password:` for the token and left the password; a JSON string or a form field holding a pair
  // was not read at all.
  it('redacts a secret pair in free text whatever precedes it (an ordinary name, nested names, a secret-named heading, JSON, a form)', () => {
    const cases: [string, string][] = [
      ['said: X-Api-Key: secret', `said: X-Api-Key: ${REDACTED}`],
      ['error: password: hunter2', `error: password: ${REDACTED}`],
      ['upstream said: password: hunter2', `upstream said: password: ${REDACTED}`],
      ['a: b: c: password: hunter2 rejected', `a: b: c: password: ${REDACTED} rejected`],
      ['InvalidToken: password: hunter2', `InvalidToken: password: ${REDACTED}`],
      ['InvalidToken: "password": "hunter2"', `InvalidToken: "password": "${REDACTED}"`],
      ['said: "X-Api-Key: secret" and left', `said: "X-Api-Key: ${REDACTED}" and left`],
      // A path or a name stuck to what precedes it: its last word is a secret's.
      ['said|authorization: S3CR3T-15', `said|authorization: ${REDACTED}`],
      ['patient.ssn=123-45-6789 x', `patient.ssn=${REDACTED} x`],
      ['sources.http.headers.Authorization: S3CR3T-16', `sources.http.headers.Authorization: ${REDACTED}`],
      ['cfg.headers.Authorization: Bearer S3CR3T-17', `cfg.headers.Authorization: Bearer ${REDACTED}`],
      // A stray quote pairs the wrong quotes: the text is read on, not skipped as a quoted value.
      ['msg=": "password": "S3CR3T-13"', `msg=": "password": "${REDACTED}"`],
      ['msg=": password: "S3CR3T-14"', `msg=": password: "${REDACTED}"`],
      ['upstream said: {"error": "bad", "token": "abc"}', `upstream said: {"error": "bad", "token": "${REDACTED}"}`],
      ['{"error":"password: hunter2","m":"InvalidToken: the access token has expired"}', `{"error":"password: ${REDACTED}","m":"InvalidToken: the access token has expired"}`],
      ['reason=token=abc', `reason=${encodeURIComponent(`token=${REDACTED}`)}`],
      // A name with a colon is no form's (a form percent-encodes it): `said:` is a prefix.
      ['said:authorization=S3CR3T-12', `said:authorization=${REDACTED}`],
      ['said:token=abc&page=2', `said:token=${REDACTED}&page=2`],
      ['body was "{\\"password\\": \\"hunter2 x\\", \\"user\\": \\"svc\\"}"', `body was "{\\"password\\": \\"${REDACTED}\\", \\"user\\": \\"svc\\"}"`],
      // Prose stays prose after a prefix.
      ['error: password: required', 'error: password: required'],
      ['InvalidToken: password: required', 'InvalidToken: password: required'],
    ];
    for (const [input, expected] of cases) expect(redactor.text(input), input).toBe(expected);
  });

  // Was: a name was one word, so a name of two whose last word is no secret's (`API key`,
  // `Private Key`) was read as `key`, and its value kept; a quoted one (`"API key": …`) was no name
  // at all; `bearer token: x` took `token:` for the bearer credential and left `x`.
  it('redacts the value of a secret name of two words, and keeps the name', () => {
    const cases: [string, string][] = [
      ['API key: TW-S3CR3T-1', `API key: ${REDACTED}`],
      ['api key=TW-S3CR3T-2, retry', `api key=${REDACTED}, retry`],
      ['Private Key: TW-S3CR3T-3', `Private Key: ${REDACTED}`],
      ['client secret: TW-S3CR3T-4', `client secret: ${REDACTED}`],
      ['access token: TW-S3CR3T-5 expired', `access token: ${REDACTED} expired`],
      ['api key = TW-S3CR3T-6', `api key = ${REDACTED}`],
      ['upstream said API key: TW-S3CR3T-7', `upstream said API key: ${REDACTED}`],
      ['InvalidToken: API key: TW-S3CR3T-8', `InvalidToken: API key: ${REDACTED}`],
      ['said "API key: TW-S3CR3T-9" and left', `said "API key: ${REDACTED}" and left`],
      ['"API key": "TW-S3CR3T-10", "user": "svc"', `"API key": "${REDACTED}", "user": "svc"`],
      ["{'Private Key': 'TW-S3CR3T-11', 'user': 'svc'}", `{'Private Key': '${REDACTED}', 'user': 'svc'}`],
      ['bearer token: TW-S3CR3T-12', `bearer token: ${REDACTED}`],
      // A secret key is the secret half of a key pair, whatever its spelling.
      ['Secret Key: TW-S3CR3T-13', `Secret Key: ${REDACTED}`],
      ['refused: secret_key=TW-S3CR3T-14', `refused: secret_key=${REDACTED}`],
      ['{"awsSecretKey": "TW-S3CR3T-15"}', `{"awsSecretKey":"${REDACTED}"}`],
      // A configured name after a word of prose is still that name.
      ['the patient ssn: 123-45-6789', `the patient ssn: ${REDACTED}`],
      // Prose stays prose; a name that is no secret's stays as it is.
      ['API key: required', 'API key: required'],
      ['Public Key: MFkwEwYH', 'Public Key: MFkwEwYH'],
      ['user name: alice', 'user name: alice'],
    ];
    for (const [input, expected] of cases) expect(redactor.text(input), input).toBe(expected);
  });

  // Was: `WWW-Authenticate: Basic realm="x"` came out `Basic [REDACTED]"x"`: a challenge's realm= taken for a credential.
  it("keeps a challenge's auth-params (realm, charset, scope, error, error_description) readable, and redacts the credential of an Authorization", () => {
    const cases: [string, string][] = [
      ['WWW-Authenticate: Basic realm="x"', 'WWW-Authenticate: Basic realm="x"'],
      ['WWW-Authenticate: Basic realm="ERP", charset="UTF-8"', 'WWW-Authenticate: Basic realm="ERP", charset="UTF-8"'],
      ['www-authenticate: Basic realm=erp', 'www-authenticate: Basic realm=erp'],
      ['WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="The access token expired"', 'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="The access token expired"'],
      ['WWW-Authenticate: Bearer error="insufficient_scope", scope="workorders:write"', 'WWW-Authenticate: Bearer error="insufficient_scope", scope="workorders:write"'],
      ['WWW-Authenticate: Bearer scope = "read"', 'WWW-Authenticate: Bearer scope = "read"'],
      ['401, answered with Bearer error_uri="https://erp.example/help"', '401, answered with Bearer error_uri="https://erp.example/help"'],
      ['Proxy-Authenticate: Basic realm="proxy"', 'Proxy-Authenticate: Basic realm="proxy"'],
      // The credential of an Authorization stays redacted, also one whose base64 ends in "=".
      ['Authorization: Basic dXNlcjpTM0NSM1Q=', `Authorization: Basic ${REDACTED}`],
      ['Authorization: Basic S3CR3TdXNlcjpw==', `Authorization: Basic ${REDACTED}`],
      ['Authorization: Bearer S3CR3T-realm', `Authorization: Bearer ${REDACTED}`],
      ['Authorization: Bearer realmS3CR3T=', `Authorization: Bearer ${REDACTED}`],
      // A pair after the scheme that is no challenge's auth-param is taken for the credential, as before.
      ['Bearer access_token=S3CR3T-1', `Bearer ${REDACTED}`],
      ['Basic user=S3CR3T-2', `Basic ${REDACTED}`],
    ];
    for (const [input, expected] of cases) {
      expect(redactor.text(input), input).toBe(expected);
      expect(redactor.text(input), input).not.toContain('S3CR3T');
    }
  });

  // Was: `Bearer abc,def` left `,def` (the credential ended at its first comma), and `Basic auth: xyz`
  // redacted the label `auth:` and left the credential after it.
  it('redacts the whole run of a credential after Bearer or Basic, commas and all, and the credential after a label of it', () => {
    const cases: [string, string][] = [
      ['Authorization: Bearer abc,S3CR3T-1', `Authorization: Bearer ${REDACTED}`],
      ['Bearer ab,,S3CR3T-2 rejected', `Bearer ${REDACTED} rejected`],
      ['got Basic dXNl,S3CR3T-3; retry', `got Basic ${REDACTED}; retry`],
      // A comma before white space or at the end ends it: a list of credentials, or of words.
      ['WWW-Authenticate answered to Bearer S3CR3T-4, Basic S3CR3T-5', `WWW-Authenticate answered to Bearer ${REDACTED}, Basic ${REDACTED}`],
      ['sent Bearer S3CR3T-6,', `sent Bearer ${REDACTED},`],
      ['Basic auth: S3CR3T-7', `Basic auth: ${REDACTED}`],
      ['used Basic Auth: user:S3CR3T-8 was refused', `used Basic Auth: ${REDACTED} was refused`],
      ['Bearer credentials: "S3CR3T-9"', `Bearer credentials: "${REDACTED}"`],
      ['Basic auth: abc,S3CR3T-10', `Basic auth: ${REDACTED}`],
      // The credential after the label may be a scheme's: redacted after it.
      ['Basic auth: Basic S3CR3T-11', `Basic ${REDACTED} Basic ${REDACTED}`],
    ];
    for (const [input, expected] of cases) {
      expect(redactor.text(input), input).toBe(expected);
      expect(redactor.text(input), input).not.toContain('S3CR3T');
    }
    // A label's word of prose (`Basic auth: required`) is no credential.
    expect(redactor.text('Basic auth: required')).toBe('Basic auth: required');
  });

  // Was: a bare value ended at its first comma, so `password: abc,def` left `def`.
  it('takes a comma inside a bare value for part of it, and a comma before white space for the end of it', () => {
    const cases: [string, string][] = [
      ['password: abc,S3CR3T', `password: ${REDACTED}`],
      ['password=abc,S3CR3T, user=bob', `password=${REDACTED}, user=bob`],
      ['password=x, user=bob', `password=${REDACTED}, user=bob`],
      ['password: abc,S3CR3T, retry', `password: ${REDACTED}, retry`],
      ['login failed: token=ab,,S3CR3T; retry', `login failed: token=${REDACTED}; retry`],
      ['said: {token: ab,S3CR3T}', `said: {token: ${REDACTED}}`],
      ['password: abc,S3CR3T,', `password: ${REDACTED},`],
      ['API key: ab,S3CR3T was refused', `API key: ${REDACTED} was refused`],
      // A quoted value ends at its closing quote, commas and all.
      ['password: "a, S3CR3T", user=bob', `password: "${REDACTED}", user=bob`],
      ["{'password': 'a,S3CR3T', 'user': 'bob'}", `{'password': '${REDACTED}', 'user': 'bob'}`],
      // What follows a comma without a space may be the password's: it goes with it.
      ['said token=abc,page=2', `said token=${REDACTED}`],
      // A `+` in a form is a space, but in a value no form encoder wrote (a raw `=`), a plus.
      ['said=password=ab+S3CR3T,x', `said=${encodeURIComponent(`password=${REDACTED}`)}`],
      ['said=password:ab+S3CR3T/x', `said=${encodeURIComponent(`password:${REDACTED}`)}`],
      ['note=password%3Dab+was+wrong', `note=${encodeURIComponent(`password=${REDACTED}`)}+was+wrong`],
      ['a=1&a=2&token=S3CR3T', `a=1&a=2&token=${encodeURIComponent(REDACTED)}`],
    ];
    for (const [input, expected] of cases) expect(redactor.text(input), input).toBe(expected);
  });

  // Was: each ordinary name's value was read again by recursion, so a long chain of them (`a=a=a=…`)
  // overflowed the stack and the redactor threw instead of returning the text.
  it('reads a long chain of ordinary names without running out of stack or time', () => {
    const chain = `note: ${'a='.repeat(50_000)}b, then token: T0K-S3CR3T`;
    const out = redactor.text(chain);
    expect(out).toBe(chain.replace('T0K-S3CR3T', REDACTED));
  });

  // Was: a name was tried from each character of a run of name characters (a long word, a base64
  // blob, `a.a.a.…`) and read to the run's end each time, as were a URL's scheme and the stops
  // after a prose word: quadratic, seconds for 50,000 characters, and minutes for a large answer.
  it('redacts long runs of name, scheme and stop characters in linear time', () => {
    const n = 50_000;
    const cases: [string, string][] = [
      ['a'.repeat(n), 'a'.repeat(n)],
      ['a.'.repeat(n / 2), 'a.'.repeat(n / 2)],
      [`"${'a'.repeat(n)}`, `"${'a'.repeat(n)}`],
      ['Bearer'.repeat(n / 6), 'Bearer'.repeat(n / 6)],
      [`${'a.'.repeat(n / 2)}://u:S3CR3T@h`, `${'a.'.repeat(n / 2)}://u:${REDACTED}@h`],
      [`password: ${'.'.repeat(n)}S3CR3T`, `password: ${REDACTED}`],
      [`${'b'.repeat(n)}.password: S3CR3T`, `${'b'.repeat(n)}.password: ${REDACTED}`],
      // Names of words: a quoted one of any number, a bare one of two.
      [`'${'word '.repeat(n / 5)}`, `'${'word '.repeat(n / 5)}`],
      [`"${'a \t'.repeat(n / 3)}": x`, `"${'a \t'.repeat(n / 3)}": x`],
      [`${'a '.repeat(n / 2)}API key: S3CR3T`, `${'a '.repeat(n / 2)}API key: ${REDACTED}`],
      [`password: a${','.repeat(n)}S3CR3T`, `password: ${REDACTED}`],
    ];
    const started = performance.now();
    for (const [input, expected] of cases) expect(redactor.text(input)).toBe(expected);
    // Some tens of milliseconds in all; quadratic, it was more than a minute.
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('leaves no built-in secret name\'s value in text, whatever prefix, pair form or container it comes in', () => {
    const value = 'S3CR3T-v4l,S3CR3T-2';
    const names = [...BUILTIN_SECRET_FIELDS, 'X-Api-Key', 'Client-Secret', 'dbPassword', 'sessionToken', 'InvalidToken', 'API key', 'Private Key', 'client secret'];
    const pairForms = (name: string): string[] => [`${name}: ${value}`, `${name}=${value}`, `${name}:${value}`, `${name} = ${value}`, `"${name}": "${value}"`, `'${name}': '${value}'`];
    const prefixes = ['', 'said ', 'said: ', 'error: ', 'upstream said: ', 'a: b: ', 'a: b: c: ', 'reason=', 'error=', 'x-request-id: 7; ', 'InvalidToken: ', 'password: ', 'error: password: ', '"error": '];
    const containers = (pair: string): string[] => [
      pair,
      `${pair}, then more`,
      `${pair} was rejected`,
      `said: {"error": "bad", "detail": ${JSON.stringify(pair)}}`,
      JSON.stringify({ error: pair }),
      JSON.stringify([{ detail: { reason: `upstream said: ${pair}` } }]),
      `reason=${encodeURIComponent(pair)}&page=2`,
    ];
    const leaks: string[] = [];
    for (const name of names)
      for (const form of pairForms(name))
        for (const prefix of prefixes)
          for (const text of containers(`${prefix}${form}`)) {
            const out = redactor.text(text);
            if (out.includes('S3CR3T') || out.includes(encodeURIComponent(value))) leaks.push(`${text} -> ${out}`);
          }
    for (const name of names) {
      for (const prefix of ['said: ', 'a: b: ', 'InvalidToken: '])
        for (const text of [`${prefix}{"error": "bad", "${name}": "${value}"}`, `${prefix}"${name}": "${value}"`]) if (redactor.text(text).includes('S3CR3T')) leaks.push(text);
    }
    expect(leaks).toEqual([]);
  });

  it('leaves no secret value behind any run of ordinary names, words and separators (property)', () => {
    const ordinary = fc.constantFrom('said', 'error', 'reason', 'upstream', 'x-request-id', 'detail', 'a', 'msg', '"error"', "'detail'", 'key', 'code', '7');
    const sep = fc.constantFrom(': ', ':', '=', ' = ', ' ', '; ', ', ', ' - ');
    const prefix = fc.array(fc.tuple(ordinary, sep).map(([n, s]) => `${n}${s}`), { maxLength: 6 }).map((parts) => parts.join(''));
    const name = fc.constantFrom(...BUILTIN_SECRET_FIELDS, 'X-Api-Key', 'Client-Secret', 'dbPassword', 'InvalidToken', 'API key', 'api key', 'Private Key', 'access token');
    // No word of prose: the value a pattern must take for a credential.
    // Of one or more parts joined by commas: all of a bare value (`password: abc,def`).
    const value = fc
      .array(fc.stringMatching(/^[A-Za-z0-9_.~+/-]{4,24}$/), { minLength: 1, maxLength: 3 })
      .map((parts) => parts.map((v) => `S3CR3T${v}`).join(','));
    const form = fc.constantFrom('N: V', 'N=V', 'N:V', '"N": "V"', "'N': 'V'", 'N = V');
    const tail = fc.constantFrom('', ' was rejected', ', retry', '; next: 1', '"}');
    fc.assert(
      fc.property(prefix, name, value, form, tail, (p, n, v, f, t) => {
        const text = `${p}${f.replace('N', n).replace('V', v)}${t}`;
        const out = redactor.text(text);
        expect(out, text).not.toContain('S3CR3T');
      }),
      { numRuns: 500 },
    );
  });

  it('scrubs literal secret values wherever they appear, using the current values', () => {
    let current = 'rotating-token-1';
    const r = createRedactor({ secrets: () => [current, undefined, 'ab'] });
    expect(r.text('error: token rotating-token-1 is invalid')).toBe(`error: token ${REDACTED} is invalid`);
    current = 'rotating-token-2';
    expect(r.text('rotating-token-2 again')).toBe(`${REDACTED} again`);
    // Was: the pattern redacted the scrubbed value again and left its bracket (`token: [REDACTED]] x`).
    expect(r.text('token: rotating-token-2 rejected')).toBe(`token: ${REDACTED} rejected`);
    expect(r.text('said: X-Api-Key: rotating-token-2, retry')).toBe(`said: X-Api-Key: ${REDACTED}, retry`);
    // Too short to scrub safely: left alone.
    expect(r.text('ab cd')).toBe('ab cd');
  });

  it('redacts secret query parameters and URL passwords', () => {
    const out = redactor.url('https://user:pw@erp.example/api?access_token=abc&page=2');
    expect(out).not.toContain('abc');
    expect(out).not.toContain(':pw@');
    expect(out).toContain('page=2');
  });

  // Was: a copy assigned each field, so an own `__proto__` field (JSON.parse makes one) set the
  // copy's prototype instead: the audit text lost the field, and its fields were inherited.
  it('keeps an own __proto__ field as an ordinary field, redacted like any other, in a body, a value and headers', () => {
    const body = '{"__proto__":{"password":"PR-S3CR3T-1","a":1},"b":[{"__proto__":{"token":"PR-S3CR3T-2"}}],"c":"x"}';
    expect(redactor.text(body)).toBe(`{"__proto__":{"password":"${REDACTED}","a":1},"b":[{"__proto__":{"token":"${REDACTED}"}}],"c":"x"}`);
    const value = redactor.value(JSON.parse(body)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'b', 'c']);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ password: REDACTED, a: 1 });
    expect('password' in value).toBe(false);
    expect(JSON.stringify(value)).toBe(`{"__proto__":{"password":"${REDACTED}","a":1},"b":[{"__proto__":{"token":"${REDACTED}"}}],"c":"x"}`);
    const headers = redactor.headers(JSON.parse('{"__proto__":"h1","Authorization":"Bearer PR-S3CR3T-3"}') as Record<string, string>);
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.entries(headers)).toEqual([
      ['__proto__', 'h1'],
      ['Authorization', REDACTED],
    ]);
  });

  it('keeps every field of a JSON body, whatever its name (__proto__, constructor …), and redacts just the secret ones (property)', () => {
    type Json = string | number | Json[] | { readonly entries: readonly (readonly [string, Json])[] };
    const key = fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'note', 'a', 'password', 'token', 'apiKey');
    const { node } = fc.letrec<{ node: Json }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom('alice', 'ok', '7 items', ''),
        fc.integer(),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.uniqueArray(fc.tuple(key, tie('node')), { maxLength: 4, selector: ([k]) => k }).map((entries) => ({ entries })),
      ),
    }));
    const secret = new Set(['password', 'token', 'apiKey']);
    // The JSON of a tree, with the secret fields' values redacted or not.
    const write = (n: Json, redacted: boolean): string => {
      if (typeof n === 'string' || typeof n === 'number') return JSON.stringify(n);
      if (Array.isArray(n)) return `[${n.map((v) => write(v, redacted)).join(',')}]`;
      const { entries } = n as { entries: readonly (readonly [string, Json])[] };
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${redacted && secret.has(k) ? JSON.stringify(REDACTED) : write(v, redacted)}`).join(',')}}`;
    };
    const isPlain = (v: unknown): boolean =>
      v === null || typeof v !== 'object' || (Array.isArray(v) ? v.every(isPlain) : Object.getPrototypeOf(v) === Object.prototype && Object.values(v).every(isPlain));
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(key, node), { minLength: 1, maxLength: 4, selector: ([k]) => k }).map((entries) => ({ entries })),
        (root) => {
          const body = write(root, false);
          expect(redactor.text(body), body).toBe(write(root, true));
          const value = redactor.value(JSON.parse(body));
          expect(JSON.stringify(value), body).toBe(write(root, true));
          expect(isPlain(value), body).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  // Was: a body was walked twice (field names, then the strings), each by recursion, then written by
  // JSON.stringify: nested deep, it overflowed the stack, and was redacted by pattern as text
  // (`"secret":[REDACTED]`, no longer JSON); value() threw.
  it('walks a deep body once, by a stack of its own: field by field, and the text still JSON', () => {
    const depth = 50_000;
    const body = `${'{"a":['.repeat(depth)}{"secret":1234,"note":"password: DP-S3CR3T"}${']}'.repeat(depth)}`;
    expect(redactor.text(body)).toBe(`${'{"a":['.repeat(depth)}{"secret":"${REDACTED}","note":"password: ${REDACTED}"}${']}'.repeat(depth)}`);
    let value = redactor.value(JSON.parse(body));
    for (let i = 0; i < depth; i++) value = (value as { a: unknown[] }).a[0];
    expect(value).toEqual({ secret: REDACTED, note: 'password: DP-S3CR3T' });
    // An object on its own path is written as such, not walked for ever.
    const cyclic: Record<string, unknown> = { token: 'x', name: 'n', list: [] };
    (cyclic.list as unknown[]).push(cyclic);
    expect(redactor.value(cyclic)).toEqual({ token: REDACTED, name: 'n', list: ['[Circular]'] });
  });

  it('takes a URL given as text whole for a URL, not a form', () => {
    // Mutation: a lone URL with one query parameter parsed as a form (one long, ordinary name).
    expect(redactor.text('https://svc:pa55word@erp.example/api?access_token=abc123')).toBe(`https://svc:${REDACTED}@erp.example/api?access_token=${REDACTED}`);
    expect(redactor.text('client_id=app&client_secret=s3cr3t')).toBe(`client_id=app&client_secret=${encodeURIComponent(REDACTED)}`);
  });

  it('redacts the password of a URL quoted in text, keeping the rest of it', () => {
    const message = 'Request cannot be constructed from a URL that includes credentials: https://erp:hunter2-x@erp.example/api?page=2';
    expect(redactor.text(message)).toBe(`Request cannot be constructed from a URL that includes credentials: https://erp:${REDACTED}@erp.example/api?page=2`);
    expect(redactor.text('{"detail":"GET http://u:p4ss@h:8080/x failed"}')).toBe(`{"detail":"GET http://u:${REDACTED}@h:8080/x failed"}`);
    // A port or an @ in the path is no password.
    expect(redactor.text('GET http://erp.example:8080/users/@me failed')).toBe('GET http://erp.example:8080/users/@me failed');
  });

  it('redacts cookies an ERP echoes in a JSON or text body', () => {
    const json = JSON.parse(redactor.text('{"request":{"headers":{"Cookie":"SID=s3ss10n","Set-Cookie":"SID=s3ss10n; HttpOnly"}},"id":7}'));
    expect(json).toEqual({ request: { headers: { Cookie: REDACTED, 'Set-Cookie': REDACTED } }, id: 7 });
    expect(redactor.text('rejected: cookie=SID=s3ss10n was invalid')).toBe(`rejected: cookie=${REDACTED} was invalid`);
  });

  it('redacts credential headers', () => {
    const out = redactor.headers({ Authorization: 'Bearer x', 'X-Api-Key': 'k', Cookie: 'sid=1', Accept: 'application/json' });
    expect(out).toEqual({ Authorization: REDACTED, 'X-Api-Key': REDACTED, Cookie: REDACTED, Accept: 'application/json' });
  });
});

describe('truncateText', () => {
  it('keeps short text and cuts long text on a character boundary, saying how much', () => {
    expect(truncateText('short', 10)).toBe('short');
    const long = 'é'.repeat(100); // 200 bytes
    const cut = truncateText(long, 11);
    expect(cut.startsWith('é'.repeat(5))).toBe(true);
    expect(cut).not.toContain('\uFFFD');
    expect(cut).toContain('[truncated 190 bytes]');
  });
});
