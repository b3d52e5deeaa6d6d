/**
 * Credentials from a telematics config entry: Trackunit's two token flavours map onto the generic
 * OAuth2 token source with Trackunit's conventions; the vendor profile supplies the token dialect.
 * @module
 */
import type { TelematicsAuthConfig } from '../../../config/telematics-schema.js';
import type { Clock } from '../../../ports/clock.js';
import type { ResolvedProvider, TokenEndpointDialect } from '../vendor-profiles.js';
import type { TelematicsCredentials } from './credentials.js';
import { OAuth2TokenSource } from './oauth2-token-source.js';
import { basicCredentials, bearerCredentials } from './static-credentials.js';

export interface CreateCredentialsOptions {
  /** Provider name, for error messages. */
  readonly label: string;
  /** The auth config's key (`telematics.0.auth`), which error messages name. */
  readonly configKey?: string;
  readonly dialect: TokenEndpointDialect;
  readonly fetch?: typeof fetch;
  readonly clock?: Clock;
  readonly timeoutMs?: number;
}

/** Build the credentials an auth config describes. */
export function createCredentials(auth: TelematicsAuthConfig, options: CreateCredentialsOptions): TelematicsCredentials {
  const common = {
    label: options.label,
    ...(options.configKey !== undefined ? { configKey: options.configKey } : {}),
    dialect: options.dialect,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
  switch (auth.type) {
    case 'trackunit-password':
      return new OAuth2TokenSource({
        ...common,
        tokenUrl: auth.tokenUrl,
        grant: { type: 'password', username: auth.username, password: auth.password },
        clientId: auth.clientId,
        clientSecret: auth.clientSecret,
        clientAuth: 'basic',
        scope: auth.offlineAccess ? `${auth.scope} offline_access` : auth.scope,
        useRefreshToken: auth.offlineAccess,
      });
    case 'trackunit-token-v2':
      return new OAuth2TokenSource({
        ...common,
        tokenUrl: auth.tokenUrl,
        grant: { type: 'client_credentials' },
        clientId: auth.clientId,
        clientSecret: auth.clientSecret,
        clientAuth: 'body',
        scope: auth.scopes.join(' '),
        useRefreshToken: false,
      });
    case 'oauth2-client-credentials':
      return new OAuth2TokenSource({
        ...common,
        tokenUrl: auth.tokenUrl,
        grant: { type: 'client_credentials' },
        clientId: auth.clientId,
        clientSecret: auth.clientSecret,
        clientAuth: auth.clientAuth,
        ...(auth.scope !== undefined ? { scope: auth.scope } : {}),
        useRefreshToken: false,
      });
    case 'oauth2-password':
      return new OAuth2TokenSource({
        ...common,
        tokenUrl: auth.tokenUrl,
        grant: { type: 'password', username: auth.username, password: auth.password },
        ...(auth.clientId !== undefined ? { clientId: auth.clientId } : {}),
        ...(auth.clientSecret !== undefined ? { clientSecret: auth.clientSecret } : {}),
        clientAuth: auth.clientAuth,
        ...(auth.scope !== undefined ? { scope: auth.scope } : {}),
        useRefreshToken: auth.useRefreshToken,
      });
    case 'bearer':
      return bearerCredentials(auth.token);
    case 'basic':
      return basicCredentials(auth.username, auth.password);
  }
}

/**
 * The credentials of entry `index` of `telematics:` as the service builds them: its profile's
 * token dialect, its timeout, error messages naming `telematics.<index>.auth`. Shared by the
 * provider and `config check --connect`, so the check mints the token the service would.
 */
export function providerCredentials(provider: ResolvedProvider, index: number, deps: { readonly fetch?: typeof fetch; readonly clock?: Clock } = {}): TelematicsCredentials {
  return createCredentials(provider.config.auth, {
    label: provider.name,
    configKey: `telematics.${index}.auth`,
    dialect: provider.profile.token,
    timeoutMs: provider.config.timeout,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
}
