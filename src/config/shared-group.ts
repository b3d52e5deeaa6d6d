import type { Config } from './schema.js';

/**
 * `sources.mqtt[].sharedGroup` with a store that serves one process (the SQLite store; the scaled
 * mode's shared store is not built yet): said by `config check` and at the service's start, each
 * under its key. Not refused: one process alone in a group still gets every message.
 */
export function sharedGroupWarnings(config: Pick<Config, 'sources'>): { key: string; message: string }[] {
  return config.sources.mqtt.flatMap((m, i) =>
    m.sharedGroup === undefined
      ? []
      : [
          {
            key: `sources.mqtt.${i}.sharedGroup`,
            message:
              `is set ("${m.sharedGroup}"), but the store serves one process (the scaled mode's shared PostgreSQL store is not built yet): ` +
              'with several processes in the group, each with a store of its own would see only part of an asset\'s events and decide its rules on that part; remove it and run one service per store',
          },
        ],
  );
}
