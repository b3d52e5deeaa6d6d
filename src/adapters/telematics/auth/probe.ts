/**
 * A credentials check for a telematics feed (`config check --connect`): one token minted as the
 * service mints it, and nothing asked of the fleet, since every ISO request spends the provider's
 * request budget. Static credentials (bearer, basic) go with each request: without one there is
 * nothing to try. One mint keeps within any login rate (`minLoginIntervalMs`).
 * @module
 */
import type { TelematicsConfig } from '../../../config/telematics-schema.js';
import { ConfigError } from '../../../core/errors/errors.js';
import type { ProbeResult } from '../../../ports/connector.js';
import { createRedactor, scrubSecretValues } from '../../http/redact.js';
import { resolveProvider } from '../vendor-profiles.js';
import { providerCredentials } from './create-credentials.js';
import { TelematicsAuthError } from './credentials.js';

export interface TelematicsProbeResult extends ProbeResult {
  /** False when nothing was sent (static credentials). */
  readonly tried: boolean;
}

/** Mint one token for entry `index` of `telematics:`; never throws, and no secret is in `detail`. */
export async function probeTelematicsAuth(config: TelematicsConfig, index: number, deps: { readonly fetch?: typeof fetch } = {}): Promise<TelematicsProbeResult> {
  const auth = config.auth;
  if (auth.type === 'bearer' || auth.type === 'basic') return { ok: true, tried: false, detail: `${auth.type} credentials are sent with each request` };
  const key = `telematics.${index}.auth`;
  let secrets: () => string[] = () => [];
  const redactor = createRedactor({ secrets: () => secrets() });
  const tokenUrl = redactor.url(auth.tokenUrl);
  const signal = AbortSignal.timeout(config.timeout);
  try {
    const credentials = providerCredentials(resolveProvider(config, index), index, deps);
    secrets = () => credentials.secrets();
    const started = performance.now();
    await credentials.authorization(signal);
    return { ok: true, tried: true, detail: `token from ${tokenUrl} in ${Math.round(performance.now() - started)} ms` };
  } catch (err) {
    let message: string;
    if (err instanceof TelematicsAuthError) message = err.message.startsWith(`${config.name}: `) ? err.message.slice(config.name.length + 2) : err.message;
    else if (err instanceof ConfigError) message = err.problems.map((p) => `${p.key}: ${p.message}`).join('; ');
    // Our deadline passed before the token source's own (the same length): its error would not name the key.
    else if (signal.aborted) message = `cannot reach the token endpoint ${tokenUrl} (no answer within ${config.timeout} ms); check the network and ${key}.tokenUrl`;
    else message = `token request failed (${err instanceof Error ? err.message : String(err)})`;
    message = message.split(auth.tokenUrl).join(tokenUrl);
    // Secret values only: the redactor's text() also blanks what follows any `secret: ` in it, our own key names included.
    message = scrubSecretValues(message, secrets());
    // An answer cut short is no key's fault: the address answered, what ended it early is the provider or what is in front of it.
    if (err instanceof TelematicsAuthError && err.cutShort) return { ok: false, tried: true, detail: `${message} (check the provider's status and any proxy in front of ${tokenUrl}; then try again)`, problem: 'cut-short' };
    // A failing or odd endpoint (5xx, 429, not a token answer) is named by no key: its address is the one to check.
    if (!message.includes(`telematics.${index}.`)) message += ` (check ${key}.tokenUrl)`;
    return { ok: false, tried: true, detail: message };
  }
}
