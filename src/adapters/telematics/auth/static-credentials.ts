/**
 * Credentials that never change: a fixed bearer API key (Samsara, Hapn) or HTTP Basic on every
 * request (some Volvo CE and Liebherr integrations). A 401 cannot be fixed by re-minting, so
 * `invalidate` says so and the client fails with a clear message instead of retrying.
 * @module
 */
import type { TelematicsCredentials } from './credentials.js';

/** `Authorization: Bearer <token>`. */
export function bearerCredentials(token: string): TelematicsCredentials {
  const header = `Bearer ${token}`;
  return {
    kind: 'bearer',
    authorization: () => Promise.resolve(header),
    invalidate: () => false,
    secrets: () => [token],
  };
}

/** `Authorization: Basic base64(username:password)`. */
export function basicCredentials(username: string, password: string): TelematicsCredentials {
  const header = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return {
    kind: 'basic',
    authorization: () => Promise.resolve(header),
    invalidate: () => false,
    secrets: () => [password, header.slice('Basic '.length)],
  };
}
