/**
 * Secret redaction for anything that leaves the process as text: audit exchanges, logs, error
 * messages (invariant 7). Pure: no I/O, so the audit trail and the logger reuse it as is.
 *
 * Field names match case-insensitively and ignore `_`, `-` and the other punctuation of an HTTP
 * header name (`.`, `~`, `!` …), so `client_secret`,
 * `clientSecret` and `Client-Secret` are one name. The built-in names also match as a suffix
 * (`sessionToken`, `dbPassword`, `x-api-key`, `Set-Cookie`); configured names match exactly.
 * @module
 */

/** What a redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

/** Field names that are always secret, whatever the configuration says. */
export const BUILTIN_SECRET_FIELDS: readonly string[] = [
  'password',
  'secret',
  'token',
  'access_token',
  'refresh_token',
  'client_secret',
  'apiKey',
  'authorization',
];

/**
 * Suffixes that make any field name secret (normalized form); a cookie is a session's credential,
 * a secret key (`secret_key`, `awsSecretKey`) a signing key's secret half.
 */
const SECRET_SUFFIXES = ['password', 'passwd', 'pwd', 'passphrase', 'secret', 'token', 'apikey', 'privatekey', 'secretkey', 'clientassertion', 'cookie'];

/**
 * Query parameters that carry a credential though their names are no secret field's: an API key
 * (`?key=`), a shared-access signature (`?sig=`, `?signature=`), an Azure Functions key or an
 * OAuth2 code (`?code=`).
 */
const SECRET_QUERY_PARAMS = new Set(['key', 'sig', 'signature', 'code', 'auth', 'hmac', 'jwt', 'sas']);

/**
 * Endings of query parameters that carry a credential: the signature of a pre-signed link
 * (`X-Amz-Signature`, `X-Goog-Signature`: whoever holds the link can use it until it expires) and
 * API keys sent in the query (`?subscription-key=` of Azure API Management, `?access_key=`). Not
 * every `…key`: `?externalKey=` is a lookup.
 */
const SECRET_QUERY_SUFFIXES = ['signature', 'subscriptionkey', 'accesskey', 'authkey', 'secretkey'];

/** A query parameter of {@link SECRET_QUERY_PARAMS}, or one ending as {@link SECRET_QUERY_SUFFIXES} say. */
function isCredentialParam(name: string): boolean {
  const n = normalizeName(name);
  return SECRET_QUERY_PARAMS.has(n) || SECRET_QUERY_SUFFIXES.some((s) => n.endsWith(s));
}

/** Larger bodies are redacted textually instead of parsed, to bound the cost. */
const MAX_PARSE_CHARS = 1_048_576;

/** Literal secret values shorter than this are not scrubbed from text (too many false hits). */
const MIN_LITERAL_SECRET_LENGTH = 4;

export interface RedactorOptions {
  /** Extra field names to redact (exact, case-insensitive). @default [] */
  readonly fields?: readonly string[];
  /**
   * Current secret values (tokens, client secrets) to scrub wherever they appear in text, e.g. an
   * ERP that echoes the token in an error message. Called on every use, so rotated tokens count.
   */
  readonly secrets?: () => Iterable<string | undefined>;
}

export interface Redactor {
  /** True when a field of this name must never be recorded. */
  isSecretField(name: string): boolean;
  /** True when a header of this name carries a credential (Authorization, Cookie, *-Token, *-Key ...). */
  isSecretHeader(name: string): boolean;
  /**
   * A deep copy of a JSON-like value (its own enumerable fields, in plain objects and arrays) with
   * secret fields replaced by {@link REDACTED}; strings as they are; an object inside itself as `[Circular]`.
   */
  value(input: unknown): unknown;
  /** A body as text: JSON and form-encoded bodies field by field, anything else by pattern. */
  text(body: string): string;
  /** A URL with secret query parameters (and any user:password) replaced. */
  url(url: string): string;
  /** Headers with secret ones (Authorization, Cookie, *-Token, *-Key ...) replaced. */
  headers(headers: Readonly<Record<string, string>>): Record<string, string>;
}

/**
 * A name as compared: lower case, without white space and the punctuation an HTTP header name (an
 * RFC 9110 token) may hold besides letters and digits (`-`, `_`, `.`, `~`, `!` …), so `X.Api.Key`,
 * `X~Api~Key` and `x-api-key` are one name, and none escapes a suffix (`…apikey`) by its separators.
 */
function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[\s!#$%&'*+\-.^_`|~]/g, '');
}

/** Header names that carry credentials even though their names are not secret-looking. */
const SECRET_HEADERS = new Set(['authorization', 'proxyauthorization', 'cookie', 'setcookie', 'xcsrftoken']);

/** Build a redactor for the built-in secret names plus `options.fields`. */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  const exact = new Set([...BUILTIN_SECRET_FIELDS, ...(options.fields ?? [])].map(normalizeName));

  const isSecretField = (name: string): boolean => {
    const n = normalizeName(name);
    return exact.has(n) || SECRET_SUFFIXES.some((s) => n.endsWith(s));
  };

  const redactValue = (input: unknown): unknown => {
    const copy = copySink();
    walkJson(input, isSecretField, (text) => text, copy);
    return copy.result();
  };

  const scrubLiterals = (text: string): string => scrubSecretValues(text, options.secrets?.() ?? []);

  const isSecretParam = (name: string): boolean => isSecretField(name) || isCredentialParam(name);

  const redactText = (body: string): string => {
    if (body === '') return body;
    // The secrets' values first, whole: a pattern could redact a part of one (the first word of a
    // token with a space in it, after `Bearer`) and leave the rest; and again after parsing, which
    // may have decoded one (a `\u0041` escape).
    return scrubLiterals(redactQueryParams(redactUserInfo(redactStructured(scrubLiterals(body), isSecretField))));
  };

  const redactUrl = (raw: string): string => {
    const url = scrubLiterals(raw);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return redactText(url);
    }
    if (parsed.password !== '') parsed.password = REDACTED;
    for (const key of [...parsed.searchParams.keys()]) {
      if (isSecretParam(key)) parsed.searchParams.set(key, REDACTED);
    }
    return scrubLiterals(parsed.toString());
  };

  const isSecretHeader = (name: string): boolean => {
    const n = normalizeName(name);
    return SECRET_HEADERS.has(n) || isSecretField(name) || n.endsWith('key');
  };

  const redactHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) setOwn(out, k, isSecretHeader(k) ? REDACTED : scrubLiterals(v));
    return out;
  };

  return { isSecretField, isSecretHeader, value: redactValue, text: redactText, url: redactUrl, headers: redactHeaders };
}

/**
 * `obj[key] = value` as an own, enumerable property, whatever the key: assigned, a `__proto__` key
 * (JSON.parse makes it an own property of what it reads) set the object's prototype instead, and
 * the audit text lost it.
 */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * `text` with each of `secrets` (as it is, escaped in JSON or percent-encoded; see
 * {@link echoedForms}) replaced by {@link REDACTED}; values shorter than 4 characters are left.
 * No pattern is applied: for text whose secret-named words are our own (a message naming a key).
 */
export function scrubSecretValues(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret === undefined || secret.length < MIN_LITERAL_SECRET_LENGTH) continue;
    for (const form of echoedForms(secret)) out = out.split(form).join(REDACTED);
  }
  return out;
}

/**
 * The forms a secret takes where an answer echoes it: as it is, escaped in a JSON string (a `"` or
 * `\\` in a password; `/` as `\\/` too, as PHP writes it), percent-encoded in a URL or a form (`%2B`, `+` for a space). The longest
 * first, so a form that holds another is scrubbed whole.
 */
function echoedForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  // PHP's json_encode writes `/` as `\\/`.
  const forms = new Set([secret, json, json.replaceAll('/', '\\/'), encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)]);
  return [...forms].sort((a, b) => b.length - a.length);
}

/**
 * The password of any `scheme://user:password@` in text: fetch quotes such a URL whole in its
 * error (`Request cannot be constructed from a URL that includes credentials: …`).
 */
function redactUserInfo(text: string): string {
  // To the last `@` before the path, as a URL parser reads a password holding one (`p@ss`). The
  // scheme is the whole run of scheme characters before `://` (`-http://`, `x.http://`), read from
  // its start only: tried from each of its characters, a long run (`a.a.a.…`) took quadratic time.
  return text.replace(/(?<![a-z0-9+.-])([a-z0-9+.-]+:\/\/[^\s/?#@:]*):[^\s/?#]+@/gi, `$1:${REDACTED}@`);
}

/** The value of a credential query parameter ({@link SECRET_QUERY_PARAMS}) of a URL quoted in text (`…/api?key=…&page=2`). */
function redactQueryParams(text: string): string {
  return text.replace(/([?&])([A-Za-z_-]+)=([^&\s#"'<>]+)/g, (match, sep: string, name: string) =>
    isCredentialParam(name) ? `${sep}${name}=${REDACTED}` : match,
  );
}

function redactStructured(body: string, isSecretField: (name: string) => boolean): string {
  const trimmed = body.trimStart();
  if (body.length <= MAX_PARSE_CHARS && (trimmed.startsWith('{') || trimmed.startsWith('['))) {
    try {
      // One walk: the secret fields by name, and the secrets in the other strings by pattern
      // (`{"error": "password: …"}`), written as JSON text as it goes.
      const json = jsonTextSink();
      walkJson(JSON.parse(body), isSecretField, (text) => redactByPattern(text, isSecretField), json);
      return json.result();
    } catch {
      // Not valid JSON (truncated, or merely starts with a brace): fall through to patterns.
    }
  }
  // A URL (`https://u:pw@host/?token=…`) is no form, though it may look like one; nor is a name
  // with a colon (`said:token=…`), which a form would have percent-encoded.
  if (/^[^=&\s:]+=[^&\s]*(&[^=&\s:]+=[^&\s]*)*$/.test(body) && !body.includes('://')) {
    // Built anew, field by field: `set` on the parsed form kept one of fields of the same name.
    const out = new URLSearchParams();
    const raw = body.split('&');
    [...new URLSearchParams(body)].forEach(([key, value], i) => {
      if (isSecretField(key)) return out.append(key, REDACTED);
      // An ordinary field's value is text like any other (`reason=token=…`, `note=password%3D…`).
      // A form encoder writes a space as `+`, and `=`, `:`, `/` … percent-encoded: in a value with
      // one of those as it is, which no encoder wrote (`said=password=ab+cd`), a `+` is a plus as
      // written, part of a secret, not a space that would end it.
      const rawValue = (raw[i] ?? '').slice((raw[i] ?? '').indexOf('=') + 1);
      const text = rawValue.includes('+') && /[^A-Za-z0-9!'()*._~%+-]/.test(rawValue) ? (decodeLiteral(rawValue) ?? value) : value;
      const redacted = redactByPattern(text, isSecretField);
      out.append(key, redacted === text ? value : redacted);
    });
    return out.toString();
  }
  return redactByPattern(body, isSecretField);
}

/** Percent-decoded, a `+` kept as it is; undefined when malformed (`%zz`). */
function decodeLiteral(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** What {@link walkJson} tells as it walks a value, in order: JSON's tokens, but for punctuation. */
interface JsonSink {
  /** A string (redacted), number, boolean, null, or anything else no array or object. */
  scalar(value: unknown): void;
  /** An array or an object begins; its items or fields follow, then {@link close}. */
  open(array: boolean): void;
  /** The name of an object's field; its value follows. */
  field(name: string): void;
  close(): void;
}

/** What an object on its own path (a cycle) is written as, by {@link walkJson}. */
const CIRCULAR = '[Circular]';

/**
 * Walk `root` (a JSON-like value: what JSON.parse returns, or any object's own enumerable
 * fields) once, telling `sink` of it with the value of every secret-named field replaced by
 * {@link REDACTED}, and every other string by `redactString`'s. Depth first, by a stack of its
 * own: a body nested a hundred thousand deep overflowed the call stack, as did JSON.stringify. A
 * field's name is its own (`Object.keys`), nothing inherited; an object on its own path is
 * {@link CIRCULAR}.
 */
function walkJson(root: unknown, isSecretField: (name: string) => boolean, redactString: (text: string) => string, sink: JsonSink): void {
  const path: { readonly node: object; readonly fields: readonly string[] | undefined; next: number }[] = [];
  const onPath = new Set<object>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') sink.scalar(redactString(value));
    else if (value === null || typeof value !== 'object') sink.scalar(value);
    else if (onPath.has(value)) sink.scalar(CIRCULAR);
    else {
      const array = Array.isArray(value);
      sink.open(array);
      onPath.add(value);
      path.push({ node: value, fields: array ? undefined : Object.keys(value), next: 0 });
    }
  };
  visit(root);
  for (let top = path.at(-1); top !== undefined; top = path.at(-1)) {
    const { node, fields } = top;
    const i = top.next++;
    if (i === (fields ?? (node as unknown[])).length) {
      sink.close();
      onPath.delete(node);
      path.pop();
    } else if (fields === undefined) {
      visit((node as unknown[])[i]);
    } else {
      const name = fields[i] as string;
      sink.field(name);
      if (isSecretField(name)) sink.scalar(REDACTED);
      else visit((node as Record<string, unknown>)[name]);
    }
  }
}

/** A {@link JsonSink} that builds a copy of what it is told: plain arrays and objects, each field an own one. */
function copySink(): JsonSink & { result(): unknown } {
  const open: (unknown[] | Record<string, unknown>)[] = [];
  let name = '';
  let root: unknown;
  const put = (value: unknown): void => {
    const parent = open.at(-1);
    if (parent === undefined) root = value;
    else if (Array.isArray(parent)) parent.push(value);
    else setOwn(parent, name, value);
  };
  return {
    scalar: put,
    open(array) {
      const container = array ? [] : {};
      put(container);
      open.push(container);
    },
    field(field) {
      name = field;
    },
    close() {
      open.pop();
    },
    result: () => root,
  };
}

/**
 * A {@link JsonSink} that writes what it is told as JSON text, as JSON.stringify writes what
 * JSON.parse returns (no space; a value JSON has no word for, `undefined`, as null).
 */
function jsonTextSink(): JsonSink & { result(): string } {
  const parts: string[] = [];
  // The arrays and objects open: how each ends, and whether an item is written in it (a comma is due).
  const open: { readonly end: ']' | '}'; written: boolean }[] = [];
  let afterName = false;
  const separate = (): void => {
    const parent = open.at(-1);
    if (afterName) afterName = false;
    else if (parent !== undefined) {
      if (parent.written) parts.push(',');
      parent.written = true;
    }
  };
  return {
    scalar(value) {
      separate();
      parts.push(JSON.stringify(value) ?? 'null');
    },
    open(array) {
      separate();
      parts.push(array ? '[' : '{');
      open.push({ end: array ? ']' : '}', written: false });
    },
    field(name) {
      separate();
      parts.push(JSON.stringify(name), ':');
      afterName = true;
    },
    close() {
      parts.push(open.pop()?.end ?? '');
    },
    result: () => parts.join(''),
  };
}

/**
 * Words that begin the prose after an error code (`InvalidToken: the access token has expired`),
 * not credentials: no generated token is one ("password", "secret" and "key" are left out: weak
 * passwords people use), and the configured secrets' values are scrubbed
 * wherever they appear anyway (`RedactorOptions.secrets`).
 */
const PROSE_WORDS = new Set(
  (
    'a an the this that these those your my our its their his her no any some each every it they you we i ' +
    'is are was were be been being has have had do does did not must may can cannot could should will would ' +
    'of for to in on at by with from and or but if when as please ' +
    'invalid expired expires missing required revoked malformed unknown incorrect wrong denied rejected empty too none ' +
    'token tokens credentials access refresh session'
  ).split(' '),
);

/**
 * Authorization schemes other than Bearer and Basic (lower case): those of the IANA HTTP
 * Authentication Scheme Registry and those APIs commonly define (`Token`, `ApiKey`, `SSWS`,
 * `AWS4-HMAC-SHA256`, `SharedKey` …). After an Authorization header's name, another word is taken
 * for the credential.
 */
const AUTH_SCHEMES = new Set(
  (
    'digest negotiate ntlm kerberos hoba mutual oauth dpop gnap concealed privatetoken scram-sha-1 scram-sha-256 vapid ' +
    'token apikey api-key key jwt hawk mac signature ssws sso-key aws aws4-hmac-sha256 sharedkey sharedkeylite googlelogin splunk'
  ).split(' '),
);

/**
 * A credential after `Bearer` or `Basic` ({@link redactByPattern}). Groups: the scheme, the space
 * after it, a label of the credential (`Basic auth: `, `Bearer credentials: `: no credential, kept,
 * and the credential read after it; not before another scheme, `Basic auth: Basic …`), an opening
 * quote or bracket, the credential. The credential is one run of non-space, but for quotes,
 * brackets and `;`: a comma inside it is part of it (`Bearer abc,def`: a token68 holds none, but
 * a sloppy client's may), one before white space or at the end ends it (a list: `Bearer abc,
 * Basic …`), as a bare value of a pair ends ({@link PAIR_VALUE}). A challenge's auth-params after
 * the scheme (`WWW-Authenticate: Basic realm="x", charset="UTF-8"`, `Bearer error="invalid_token",
 * error_description="…", scope="…"`: RFC 9110 §11.6.1, RFC 6750 §3) are no credential: kept readable.
 */
const SCHEME_CREDENTIAL = /\b(Bearer|Basic)(\s+)(?!(?:realm|charset|scope|error|error_description|error_uri|resource_metadata|max_age|acr_values|algorithm)[ \t]*=)((?:auth|authentication|authorization|credentials?|creds|header):[ \t]+(?!(?:Bearer|Basic)\b))?(["'([]?)((?:[^\s"'<>()[\]{},;]|,+(?=[^\s"'<>()[\]{},;]))+)/gi;

/**
 * Last resort for text we cannot parse: `"name": "value"`, `name=value` and `Bearer <token>`
 * forms. It over-redacts rather than under-redacts, but for an ordinary word after `name: ` (an
 * error message: `InvalidToken: the access token has expired`).
 */
function redactByPattern(body: string, isSecretField: (name: string) => boolean): string {
  // Credentials after a scheme first, so `Authorization: Bearer x` cannot leave `x` behind; but
  // "bearer token" is prose (`missing or wrong bearer token`), no credential, and with a colon a
  // secret's name (`bearer token: x`), whose value the pairs below redact.
  // The credential may be quoted or bracketed (`Bearer "abc…"`, `Bearer (abc…)`) and hold any
  // character a sloppy client puts there, so it runs to the next space, quote or bracket; a
  // `<placeholder>` (`Bearer <sources.http.token>`) is a hint of what to send, and kept. A comma
  // inside it is part of it (`Bearer abc,def`); a label before it (`Basic auth: xyz`) is kept, and
  // the credential read after it ({@link SCHEME_CREDENTIAL}).
  const schemes = body.replace(SCHEME_CREDENTIAL, (match, scheme: string, space: string, label: string | undefined, open: string, value: string) =>
    PROSE_WORDS.has(value.toLowerCase()) ||
    `${open}${value}` === REDACTED.slice(0, -1) ||
    (label === undefined && open === '' && /^[^:]+:$/.test(value) && isSecretField(`${scheme}${value.slice(0, -1)}`))
      ? match
      : `${scheme}${space}${label ?? ''}${open}${REDACTED}`,
  );
  // Other schemes after an Authorization header's name (`Authorization: Token abc`, `ApiKey abc`,
  // `Digest username="u", response="…"`): everything after the scheme, to the end of the line. A
  // word that is no scheme we know may be the credential itself (`Authorization: sk_live_… was
  // rejected`): it goes with the rest.
  const otherSchemes = schemes.replace(
    /\b((?:Proxy-)?Authorization["']?\s*[:=]\s*["']?)(?!Bearer\b|Basic\b)([A-Za-z][A-Za-z0-9_-]*)([ \t]+)([^\r\n]+)/gi,
    (match, head: string, scheme: string, space: string, rest: string) => {
      const word = scheme.toLowerCase();
      if (rest.startsWith(REDACTED) || (PROSE_WORDS.has(word) && word !== 'token')) return match;
      return AUTH_SCHEMES.has(word) ? `${head}${scheme}${space}${REDACTED}` : `${head}${REDACTED}`;
    },
  );
  // An XML element of a secret name (`<password>…</password>`, `<ns:Token a="1">…</ns:Token>`).
  const elements = otherSchemes.replace(/<((?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*))(\s[^<>]*)?>([^<]*)<\/\1>/g, (match, tag: string, local: string, attrs: string | undefined, value: string) =>
    isSecretField(local) && value.trim() !== '' ? `<${tag}${attrs ?? ''}>${REDACTED}</${tag}>` : match,
  );
  return redactPairs(elements, isSecretField);
}

/**
 * The values of secret-named pairs in `text`. A value that is not redacted (an ordinary name's, a
 * prose word) is read again, for the pair it may hold or begin: `said: X-Api-Key: …`,
 * `error: password=…`, `a: b: token: …`, `InvalidToken: password: …`.
 */
function redactPairs(text: string, isSecretField: (name: string) => boolean): string {
  // In text, a name may be a path (`headers.Authorization`, `sources.http.token`) or stuck to what
  // precedes it (`said|authorization`): its last word counts too. A name of two words or more
  // (`API key`, `Private Key`) counts as one (`apikey`), and its last one alone (`patient ssn`).
  const isSecretName = (name: string): boolean => isSecretField(name) || isSecretField(lastPart(name)) || isSecretField(lastWord(name));
  const heads = new RegExp(PAIR_HEAD.source, 'g');
  let out = '';
  let from = 0;
  for (let m = heads.exec(text); m !== null; m = heads.exec(text)) {
    const [head, quote = '', quotedName, bareName, sep = ''] = m;
    const name = quotedName ?? bareName ?? '';
    const valueAt = m.index + head.length;
    if (isSecretName(name)) {
      const value = valueFrom(text, valueAt);
      if (!isSecretKept(text, valueAt + value.length, quote, name, sep, value, isSecretName)) {
        const quoted = /^\\?["']/.exec(value)?.[0] ?? '';
        // A bare value's one quote, at its end, closes the quoted text it is in (`said: "token: …"`).
        const closing = quoted === '' && /^[^"']*["']$/.test(value) ? value.slice(-1) : '';
        out += `${text.slice(from, valueAt)}${quoted}${REDACTED}${quoted}${closing}`;
        from = valueAt + value.length;
        heads.lastIndex = from;
        continue;
      }
    }
    // The value may be the next pair's name, or hold a pair (`said: X-Api-Key: …`,
    // `reason=token=…`, `said: "password": …`, `said: "token=…"`): read on from it, not past it,
    // though it be quoted (a stray quote would pair the wrong quotes: `msg=": password: "…"`).
    out += text.slice(from, valueAt);
    from = valueAt;
    heads.lastIndex = valueAt;
  }
  return out + text.slice(from);
}

/** The characters of a name in text: those of an HTTP header name (an RFC 9110 token) but the quotes. */
const NAME_CHARS = 'A-Za-z0-9!#$%&*+.^_`|~-';
const NAME = `[${NAME_CHARS}]+`;

/**
 * A name and its separator as {@link redactPairs} reads them, before a value ({@link PAIR_VALUE}).
 * Names quoted with " (JSON) or ' (a Python dict or repr an error quotes), or with \" (JSON quoted
 * in a string of text: `body: "{\"password\": \"…\"}"`); of the characters of an HTTP header name
 * (an RFC 9110 token), but the quotes: `X.Api~Key: …`; `:` or `=` after. A name of two words is
 * read too (`API key: …`, `Private Key=…`), and a quoted one of any number (`"API key": …`).
 * Groups: the quote, the quoted name, the bare name, the separator.
 *
 * A bare name begins where a run of those characters does: tried from each character of a long run
 * (a base64 blob, `a.a.a.…`), it was read to the run's end each time, in quadratic time. Nor does
 * a bare name take more than two words: from each word of a sentence, it would be read to its end.
 */
const PAIR_HEAD = new RegExp(
  `(?:(\\\\?["'])(${NAME}(?:[ \\t]+${NAME})*)\\1|(?<![${NAME_CHARS}])(${NAME}(?:[ \\t]+${NAME})?))(\\s*[:=]\\s*)(?=[^\\s,&;}\\]])`,
);

/**
 * A value after {@link PAIR_HEAD}: quoted with ", ' or \" (to the closing quote, or the end), or
 * bare: to white space, `;`, `&`, `}`, `]`, or a comma that ends a value of a list (before white
 * space: `password=x, user=bob`, or at the end). A comma inside a bare value is part of it
 * (`password: abc,def`); so is what follows it, a pair or not (`token=abc,page=2`): the value may
 * be a password that holds one.
 */
const PAIR_VALUE = /"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|\\"(?:[^"\\]|\\[^"])*(?:\\")?|(?:[^\s,&;}\]]|,+(?=[^\s,&;}\]]))+/y;

/** The value ({@link PAIR_VALUE}) that starts at `index` of `text`. */
function valueFrom(text: string, index: number): string {
  PAIR_VALUE.lastIndex = index;
  return PAIR_VALUE.exec(text)?.[0] ?? '';
}

/**
 * True when the value after a secret name is no credential, and is kept: an ordinary word of
 * prose (`password: required`), the scheme of an `Authorization` whose credential was redacted or
 * is a placeholder, or the start of another secret pair after a heading (`InvalidToken: password: …`,
 * whose own value is then redacted), or {@link REDACTED} itself. `end` is where the value ends in `text`.
 */
function isSecretKept(text: string, end: number, quote: string, name: string, sep: string, value: string, isSecretField: (name: string) => boolean): boolean {
  // Redacted already (a configured secret's value, a credential after an Authorization's name):
  // a bare value stops at its `]`, and would be redacted again as `[REDACTED]]`.
  if (text.startsWith(REDACTED, end - value.length)) return true;
  if (isProse(quote, sep, value)) return true;
  // `Authorization: Bearer <placeholder>`, `Authorization: ApiKey [REDACTED]`: the scheme alone
  // (a credential after it was redacted above).
  if (quote === '' && normalizeName(lastWord(name)) === 'authorization') {
    if (/^(bearer|basic)$/i.test(value)) return true;
    if (/^[A-Za-z][A-Za-z0-9_-]*$/.test(value) && redactedAt(text, end)) return true;
  }
  if (quote === '' && sep.includes(':') && /\s$/.test(sep)) {
    const inner = pairAt(text, end - value.length);
    if (inner !== undefined && isSecretField(inner)) return true;
  }
  return false;
}

/** True when white space and {@link REDACTED} (maybe quoted or bracketed) follow `index` of `text`. */
function redactedAt(text: string, index: number): boolean {
  const after = /\s+["'([]?\[REDACTED\]/y;
  after.lastIndex = index;
  return after.test(text);
}

/** The last part of a name of words (`API key`: `key`), or the name. */
function lastPart(name: string): string {
  return name.slice(Math.max(name.lastIndexOf(' '), name.lastIndexOf('\t')) + 1);
}

/** The last word of a name: what follows its last character that is no letter or digit. */
function lastWord(name: string): string {
  // By hand: `/[A-Za-z0-9]*$/` tries each letter of a long word, and reads on to its end each time.
  let start = name.length;
  while (start > 0 && /[A-Za-z0-9]/.test(name.charAt(start - 1))) start--;
  return name.slice(start);
}

/** The name of the pair ({@link PAIR_HEAD}) that starts at `index` of `text`, if one does. */
function pairAt(text: string, index: number): string | undefined {
  const head = new RegExp(PAIR_HEAD.source, 'y');
  head.lastIndex = index;
  const m = head.exec(text);
  return m === null ? undefined : (m[2] ?? m[3]);
}

/** `name: word` with a bare, ordinary word: the start of a sentence, not a value. */
function isProse(quote: string, sep: string, value: string): boolean {
  if (quote !== '' || !sep.includes(':') || !/\s$/.test(sep)) return false;
  // The word without the stops after it, cut by hand: `/[.!?:]+$/` reads a long run of them from each.
  let end = value.length;
  while (end > 0 && '.!?:'.includes(value.charAt(end - 1))) end--;
  return PROSE_WORDS.has(value.slice(0, end).toLowerCase());
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Cut `text` to at most `maxBytes` UTF-8 bytes (never splitting a character) and say how much
 * was cut, so the audit trail stays bounded and honest.
 */
export function truncateText(text: string, maxBytes: number): string {
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) return text;
  const kept = decoder.decode(bytes.subarray(0, Math.max(0, maxBytes))).replace(/\uFFFD+$/, '');
  return `${kept}…[truncated ${bytes.length - encoder.encode(kept).length} bytes]`;
}
