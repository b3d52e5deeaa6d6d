/**
 * URL-valued config keys: an absolute URL whose scheme is one the key's client speaks (`http://`
 * or `https://` for what is requested over HTTP, the MQTT client's schemes for a broker). A value
 * without one (`erp.local:4010`) parses as a URL of scheme `erp.local`, so it is refused here
 * rather than at the first request; the message echoes the value (any credentials in it hidden)
 * and shows the form to write.
 * @module
 */
import { z } from 'zod';
import { echo } from './issue-messages.js';

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** What to write for a value with no scheme that is otherwise a host[:port][/path]: the value with the example's scheme. */
function withScheme(value: string, example: string): string | undefined {
  if (!/^[A-Za-z0-9.-]+(:\d+)?([/?#]\S*)?$/.test(value)) return undefined;
  const scheme = SCHEME.exec(example)?.[1] ?? 'https';
  const candidate = `${scheme}://${value}`;
  return URL.canParse(candidate) ? candidate : undefined;
}

/**
 * The value as a message quotes it, with the user-info part of a URL (`user:password@`) hidden:
 * everything up to the last `@` (a `?` or `#` may be the password's), also after a malformed scheme
 * (`http:/user:pw@host`) or in a password with a `/` in it; and a query as `?…`.
 */
function echoUrl(value: string): string {
  return echo(hideSecrets(value));
}

/**
 * `value` with its user-info (`user:password@`) and query hidden: a query's value is where an API key goes (`?api_key=…`).
 * The user-info runs to the last `@`, across a `?` or `#`: in a password (a generated one, put in
 * through `${NAME}`) they make the URL unparsable, and must not be read as a query or fragment and shown.
 */
function hideSecrets(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/+)?[^\s]*@/, '$1***@').replace(/\?[^#]*/, '?…');
}

/**
 * Why `value` is not an absolute URL of one of `schemes` (lower case, without `://`), else
 * undefined. With `credentials: false`, a URL carrying `user:password@` is refused too: fetch
 * will not send such a URL, and its error message (logged, audited) would quote the password.
 */
export function urlProblem(value: string, schemes: readonly string[], example: string, credentials = true): string | undefined {
  const scheme = SCHEME.exec(value)?.[1]?.toLowerCase();
  if (scheme !== undefined && schemes.includes(scheme) && URL.canParse(value) && new URL(value).host !== '') {
    const url = new URL(value);
    if (credentials || (url.username === '' && url.password === '')) return undefined;
    return `${echoUrl(value)} carries credentials (user:password@), which are not sent from a URL and would show in logs and the audit trail: write it without them and give them in the entry's auth (or a destination's token or headers)`;
  }
  const names = schemes.map((s) => `${s}://`);
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''}` : (names[0] ?? '');
  return `${echoUrl(value)} is not an absolute ${list} URL: write it in full, e.g. ${hideSecrets((scheme === undefined ? withScheme(value, example) : undefined) ?? example)}`;
}

function urlField(schemes: readonly string[], example: string, credentials: boolean) {
  return z.string().superRefine((value, ctx) => {
    const problem = urlProblem(value, schemes, example, credentials);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/** A URL requested over HTTP: `http://` or `https://`, without `user:password@`; `example` is shown when the value is refused. */
export const httpUrl = (example: string) => urlField(['http', 'https'], example, false);

/**
 * A base URL that request paths are appended to (a destination's `baseUrl`): an http(s) URL as
 * {@link httpUrl}, and without a query or fragment, which would swallow every path appended to it
 * (each request would reach the base's own path, and fail as if the paths were wrong). The query
 * is not echoed: it may hold an API key.
 */
export const baseUrlField = (example: string) =>
  z.string().superRefine((value, ctx) => {
    const problem = urlProblem(value, ['http', 'https'], example, false);
    if (problem) return void ctx.addIssue({ code: 'custom', message: problem });
    const url = new URL(value);
    if (url.search === '' && url.hash === '' && !/[?#]/.test(value)) return;
    const part = url.search !== '' || value.includes('?') ? 'a query (?…)' : 'a fragment (#…)';
    ctx.addIssue({
      code: 'custom',
      message: `${echoUrl(value)} has ${part}: request paths (paths.*) are appended to baseUrl, so they would end up in it and every request would go to ${echoUrl(value.replace(/[?#][\s\S]*$/, ''))} instead; write baseUrl without it${part.startsWith('a query') ? ' (an API key goes in token or headers, a parameter every request needs, such as ?sap-client=100, on each of paths.*)' : ''}`,
    });
  });

/**
 * The part of a URL's user-info (`user:password@`) that holds, as written, a character that must be
 * percent-encoded there: a `:` or `@` in the password (after the first `:`), an `@` in the user
 * name; else undefined. The user-info runs to the last `@` before the path, as the URL standard
 * reads it.
 */
export function unencodedUserInfo(value: string): 'password' | 'username' | undefined {
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(value)?.[1] ?? '';
  const at = authority.lastIndexOf('@');
  if (at < 0) return undefined;
  const userInfo = authority.slice(0, at);
  const colon = userInfo.indexOf(':');
  if (colon >= 0 && /[:@]/.test(userInfo.slice(colon + 1))) return 'password';
  return userInfo.slice(0, colon < 0 ? undefined : colon).includes('@') ? 'username' : undefined;
}

/** A URL whose user-info is a password without a user name (`mqtt://:password@host`). */
function passwordWithoutUser(value: string): boolean {
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(value)?.[1] ?? '';
  const at = authority.lastIndexOf('@');
  return at >= 0 && authority.startsWith(':') && at > 1;
}

/**
 * An MQTT broker, in the schemes the MQTT client connects with (TCP, TLS, WebSocket, secure
 * WebSocket). A fragment (`#…`) is refused: no broker URL has one, but a password with an
 * unencoded `#` makes one (`mqtt://u:p@ss#w@host` connects to host `ss` and logs the rest).
 */
export const mqttUrl = () =>
  z.string().superRefine((value, ctx) => {
    const problem = urlProblem(value, ['mqtt', 'mqtts', 'ws', 'wss'], 'mqtt://broker.example:1883', true);
    if (problem) return void ctx.addIssue({ code: 'custom', message: problem });
    const unencoded = unencodedUserInfo(value);
    if (unencoded !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `${echoUrl(value)} has ${unencoded === 'password' ? 'a password holding a : or @' : 'a user name holding an @'} as written: the URL standard reads the user name to the first : and the password to the last @, and MQTT tools split it elsewhere (mqtt.js at the last :), so it would not say which one is meant; percent-encode it (each : as %3A, each @ as %40), or give the credentials in username and password (use \${ENV}) and the url without them`,
      });
    }
    if (passwordWithoutUser(value)) {
      ctx.addIssue({
        code: 'custom',
        message: `${echoUrl(value)} has a password but no user name (:password@): the broker would be sent an empty user name, which it refuses or takes as another user; write the user name before the : (mqtt://user:password@host), or give the credentials in username and password (use \${ENV}) and the url without them`,
      });
    }
    if (!value.includes('#')) return;
    ctx.addIssue({
      code: 'custom',
      message: `${echoUrl(value)} has a # in it, which no broker URL has: a password holding #, @, ? or / is written percent-encoded in a URL (%23, %40, %3F, %2F), or give it in password (use \${ENV}) and the url without it`,
    });
  });
