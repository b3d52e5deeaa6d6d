/**
 * A destination type's credential keys (a password, a client secret, an API key) are secret keys
 * (`SECRET_KEYS` in secrets.ts, docs/adding-a-connector.md step 3): else a config whose variable for
 * one is not set would not load for any command, and its value would not be scrubbed from the
 * errors, audit trail and `config check --connect` answers that quote it.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { destinationSchema } from './schema.js';
import { isSecretKey } from './secrets.js';

/** Names that say a key holds a credential. */
const CREDENTIAL_NAME = /(password|secret|token|apikey|apitoken)$/i;

/** Every key below `schema` (objects, through optional, default, union and pipe), dotted. */
function keysOf(schema: z.core.$ZodType, prefix = ''): string[] {
  const def = schema._zod.def as unknown as { type: string; shape?: Record<string, z.core.$ZodType>; innerType?: z.core.$ZodType; options?: z.core.$ZodType[]; in?: z.core.$ZodType };
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape ?? {}).flatMap(([k, v]) => [`${prefix}${k}`, ...keysOf(v, `${prefix}${k}.`)]);
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
      return def.innerType ? keysOf(def.innerType, prefix) : [];
    case 'union':
      return (def.options ?? []).flatMap((o) => keysOf(o, prefix));
    case 'pipe':
      return def.in ? keysOf(def.in, prefix) : [];
    default:
      return [];
  }
}

describe('the credential keys of every destination type', () => {
  const credentials = [...new Set(keysOf(destinationSchema).filter((k) => CREDENTIAL_NAME.test(k.split('.').at(-1) ?? '')))];

  it("are found (REST's)", () => {
    expect(credentials).toEqual(expect.arrayContaining(['token', 'auth.token', 'auth.clientSecret', 'webhook.secret', 'webhook.previousSecret']));
  });

  it('are secret keys (SECRET_KEYS in src/config/secrets.ts)', () => {
    expect(credentials.filter((k) => !isSecretKey(`destinations.0.${k}`))).toEqual([]);
  });
});
