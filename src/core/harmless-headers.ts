/**
 * Which configured request headers (a destination's or a telematics feed's `headers`) hold no
 * secret. A configured header's value is a secret wherever it could show (logs, errors, the audit
 * trail, dead letters, `config check`), whatever its name: a tenant, a subscription, a signature or
 * a key goes under any name (`X-Tenant`, `X-Acme-Key`, `Ocp-Apim-Subscription-Key`). Only these
 * names, which say how to talk rather than who is talking, are shown as they are: scrubbing their
 * values (`application/json`, the user agent) would blank those words from every line.
 * @module
 */

/** Header names (lower case, without `-` and `_`) whose configured values are shown as they are. */
const HARMLESS_HEADERS = new Set([
  'accept',
  'acceptcharset',
  'acceptencoding',
  'acceptlanguage',
  'contenttype',
  'contentlanguage',
  'useragent',
  'cachecontrol',
  'pragma',
  'prefer',
  'odataversion',
  'odatamaxversion',
  'dataserviceversion',
  'maxdataserviceversion',
]);

/** True for a header name of {@link HARMLESS_HEADERS} (any case, `-` or `_`): its configured value is no secret. */
export function isHarmlessHeader(name: string): boolean {
  return HARMLESS_HEADERS.has(name.toLowerCase().replace(/[-_\s]/g, ''));
}

/** The values of configured `headers` that are secrets: all but those of {@link isHarmlessHeader} names. */
export function configuredHeaderSecrets(headers: Readonly<Record<string, string>>): string[] {
  return Object.entries(headers)
    .filter(([name]) => !isHarmlessHeader(name))
    .map(([, value]) => value);
}
