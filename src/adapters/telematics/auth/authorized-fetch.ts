/**
 * One authorized HTTP request: the credentials' header is added; a 401 drops the token and the
 * request is sent once more with a freshly minted one, never in a loop. A second 401 is returned
 * to the caller, who reports it as refused credentials.
 * @module
 */
import type { TelematicsCredentials } from './credentials.js';

export interface AuthorizedResponse {
  readonly response: Response;
  /** True when the first answer was 401 and the request was re-sent with a new token. */
  readonly reminted: boolean;
}

/** Send `init` to `url` with credentials; see the module doc. */
export async function authorizedFetch(
  credentials: TelematicsCredentials,
  url: string,
  init: RequestInit & { headers?: Record<string, string> },
  fetchImpl: typeof fetch = fetch,
): Promise<AuthorizedResponse> {
  const signal = init.signal ?? undefined;
  const header = await credentials.authorization(signal);
  const first = await fetchImpl(url, { ...init, headers: { ...init.headers, Authorization: header } });
  if (first.status !== 401 || !credentials.invalidate(header)) return { response: first, reminted: false };
  await first.body?.cancel();
  const renewed = await credentials.authorization(signal);
  const second = await fetchImpl(url, { ...init, headers: { ...init.headers, Authorization: renewed } });
  return { response: second, reminted: true };
}
