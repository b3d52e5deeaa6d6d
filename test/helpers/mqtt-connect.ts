/** Tests that need one MQTT connection made and closed: mqtt.js connects as a source would, then ends. */
import mqtt, { type IClientOptions } from 'mqtt';

/** Connects to `url` with `options` (no reconnects), waits for CONNACK (rejects on an error), ends the client. */
export async function connectOnce(url: string, options: IClientOptions): Promise<void> {
  const client = mqtt.connect(url, { ...options, manualConnect: false, reconnectPeriod: 0 });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
  } finally {
    await client.endAsync(true);
  }
}
