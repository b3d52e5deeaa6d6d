/**
 * The credentials contract every telematics client uses: an `Authorization` header value on
 * demand (minted, cached and renewed by the implementation) and a way to drop a value the server
 * rejected, so the next call re-mints. Implementations: OAuth2 token sources (password grant,
 * client credentials, Trackunit's two flavours) and static Bearer/Basic credentials.
 * @module
 */
import { AssetbridgeError } from '../../../core/errors/errors.js';

export interface TelematicsCredentials {
  /** What kind of credentials these are, for logs (`oauth2-password`, `bearer`, ...). */
  readonly kind: string;
  /**
   * The `Authorization` header value for the next request. Mints or renews a token when none is
   * cached or it expires soon; concurrent callers share one token request.
   */
  authorization(signal?: AbortSignal): Promise<string>;
  /**
   * The server answered 401 to this header value. Returns true when a new value can be minted
   * (the caller then retries once), false when nothing would change (static credentials).
   */
  invalidate(rejected: string): boolean;
  /** Secret values in use right now (tokens, passwords), so logs and errors can scrub them. */
  secrets(): string[];
}

/**
 * Getting or using credentials failed. `retryable` is true for network errors and 5xx from the
 * token endpoint; false when the endpoint refused the credentials (fix the config).
 */
export class TelematicsAuthError extends AssetbridgeError {
  readonly code = 'TELEMATICS_AUTH';
  /** The token endpoint answered and its answer was cut short (JSON ended early, or the connection closed mid-body): no setting's fault. */
  readonly cutShort: boolean;
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown; cutShort?: boolean },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.cutShort = options?.cutShort === true;
  }
}
