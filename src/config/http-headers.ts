/**
 * Extra request headers of a destination or feed: a name that is not an HTTP token (a space, a
 * colon, `X-Key: v` written as one name) or a value with a line break makes every request fail as
 * it is built, so the config says which key instead. Values are secrets: never echoed.
 * @module
 */
import { z } from 'zod';
import { BESIDE_VALUE_PROBLEMS } from './entry-checks.js';

/** RFC 9110 token characters: what a header name may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** An HTTP header name, as a config key names it. */
export const headerName = z.string().superRefine((name, ctx) => {
  if (TOKEN.test(name)) return;
  const why = name === '' ? 'is empty' : name.includes(':') ? 'holds a colon (write the name as the key and the value after it: `X-Api-Key: value`)' : /\s/.test(name) ? 'holds a space' : 'holds a character a header name cannot';
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(shown(name))} is not an HTTP header name: it ${why}; use letters, digits and - (e.g. X-Api-Key)` });
});

/** A name written with its value (`X-Api-Key: s3cr3t`): what follows the colon may be a secret. */
function shown(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : `${name.slice(0, colon)}: …`;
}

/** `headers:` — name → value (values may use `${ENV}`). */
export const httpHeaders = z
  .record(
    z.string(),
    z.string().refine((value) => !/[\r\n\0]/.test(value), { error: 'holds a line break: a header value is one line (the value is not shown: it may be a secret)' }),
  )
  .superRefine((headers, ctx) => {
    for (const name of Object.keys(headers)) {
      const r = headerName.safeParse(name);
      if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', path: [shown(name)], message: issue.message });
    }
  }, BESIDE_VALUE_PROBLEMS); // A name is wrong whatever its value: said beside another header's value refused.

/**
 * A credential sent in a request header (`Authorization: Bearer <token>`): a line break within it
 * fails every request as it is built (the service would run and deliver nothing), so it is refused
 * here, naming the key. White space at its ends is dropped as the header is sent, so a token file
 * with a blank line after the token still works. Never echoed.
 */
export const headerCredential = <S extends z.ZodType<string>>(schema: S) =>
  schema.refine((value) => !/[\r\n\0]/.test(value.trim()), {
    error: 'holds a line break (the value is not shown): a request header is one line, so every request would fail; give the credential on one line (a file named by NAME_FILE holds the credential alone)',
  });
