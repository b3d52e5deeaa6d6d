import type { Config } from './schema.js';

/** A key's own value, or undefined where it is unset or a secret not readable here (deferred: reading it throws). */
function readable(o: object, key: string): unknown {
  const d = Object.getOwnPropertyDescriptor(o, key);
  if (d === undefined) return undefined;
  if ('value' in d) return d.value;
  try {
    return d.get?.call(o);
  } catch {
    return undefined;
  }
}

/** The user name a URL carries (`mqtt://user:password@host`), if any. */
function userOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    const name = new URL(url).username;
    return name === '' ? undefined : decodeURIComponent(name);
  } catch {
    return undefined;
  }
}

/**
 * `sources.mqtt[].url` with credentials in it (`mqtt://user:pw@host`) while `username` (and
 * `password`) are set too: mqtt.js connects with the URL's, so the keys are not used, and whoever
 * changes the password there changes nothing. Said by `config check` and at the service's start,
 * under the url's key; not refused (the connection works with the URL's).
 */
export function mqttCredentialWarnings(config: Pick<Config, 'sources'>): { key: string; message: string }[] {
  return config.sources.mqtt.flatMap((m, i) => {
    const user = userOf(readable(m, 'url'));
    if (user === undefined || (readable(m, 'username') === undefined && readable(m, 'password') === undefined)) return [];
    const keys = [readable(m, 'username') !== undefined ? 'username' : undefined, readable(m, 'password') !== undefined ? 'password' : undefined].filter((k) => k !== undefined);
    return [
      {
        key: `sources.mqtt.${i}.url`,
        message: `carries credentials (user "${user}") and sources.mqtt.${i}.${keys.join(' and ')} ${keys.length > 1 ? 'are' : 'is'} set too: the url's are the ones used, so ${keys.length > 1 ? 'those keys are' : 'that key is'} not; give the credentials once, in username and password (the url then without them)`,
      },
    ];
  });
}
