import type { Config } from './schema.js';

/**
 * A config that takes nothing in: no MQTT source, no HTTP intake with a server to take it, no
 * telematics feed pulled on a schedule. Valid (a source may come later), but the service would
 * start, report itself ready and send the ERP nothing: said by `config check` under `sources`,
 * naming what to add and what is there but takes nothing, and by the service at its start.
 */
export function noInputWarnings(config: Pick<Config, 'sources' | 'server' | 'telematics'>): { key: string; message: string }[] {
  const intakeServed = config.sources.http !== undefined && config.server.port > 0;
  const pulled = config.telematics.some((t) => t.schedule.enabled);
  if (config.sources.mqtt.length > 0 || intakeServed || pulled) return [];
  const idle = [
    ...(config.sources.http !== undefined ? ['sources.http is set, but server.port is 0, so no server runs for it'] : []),
    ...(config.telematics.length > 0
      ? [`telematics feed(s) ${config.telematics.map((t) => t.name).join(', ')} have no scheduled pulls (schedule.enabled: false), so they are pulled only by 'assetbridge aemp pull'`]
      : []),
  ];
  return [
    {
      key: 'sources',
      message:
        'no input is configured: the service would start and take in nothing, so nothing would reach the ERP but what a command such as `assetbridge aemp pull` hands it; ' +
        'add an MQTT source (sources.mqtt), the HTTP intake (sources.http.token, with server.port above 0) or a telematics feed pulled on a schedule (telematics)' +
        (idle.length ? ` (${idle.join('; ')})` : ''),
    },
  ];
}

/**
 * A destination's `webhook` that can take no push: with neither its `secret` nor the intake's
 * token (`sources.http.token`) every push is refused (403), and with `server.port` 0 no server
 * runs to receive one. Said by `config check` and at the service's start under the webhook's key
 * (valid: the refusal's answer names what to set, but only once the ERP has pushed in vain).
 */
export function webhookWarnings(config: Pick<Config, 'sources' | 'server' | 'destinations'>): { key: string; message: string }[] {
  return config.destinations.flatMap((d, i) => {
    const hook = d.webhook;
    if (hook === undefined) return [];
    const path = `POST /v1/webhooks/${d.name}/work-orders`;
    if (config.server.port === 0)
      return [{ key: `destinations.${i}.webhook`, message: `is set, but server.port is 0: no server runs to take the ERP's pushes to ${path} (set server.port)` }];
    if (hook.secret === undefined && config.sources.http === undefined)
      return [
        {
          key: `destinations.${i}.webhook`,
          message: `has no secret and sources.http is not set: every push to ${path} would be refused (403); set destinations.${i}.webhook.secret (signed pushes) or sources.http.token (pushes with it as a bearer token)`,
        },
      ];
    return [];
  });
}
