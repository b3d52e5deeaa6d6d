/**
 * Load generator for the ingest benchmark, run as its own process so it does not share the
 * measured process's event loop: publishes COUNT fleet-style JSON messages at QoS 1 as fast as
 * the broker acknowledges them (a window of in-flight publishes), then exits.
 * Usage: node dist/bench/mqtt-publisher.js <url> <topicPrefix> <count> <assets>
 */
import mqtt from 'mqtt';

const [url = 'mqtt://127.0.0.1:1883', prefix = 'bench', countArg = '100000', assetsArg = '10000'] = process.argv.slice(2);
const count = Number(countArg);
const assets = Number(assetsArg);
const client = await mqtt.connectAsync(url, { clientId: `bench-pub-${process.pid}`, clean: true, protocolVersion: 5 });
const t0 = Date.now() - 86_400_000;
let sent = 0;
let acked = 0;
await new Promise<void>((resolve) => {
  const pump = () => {
    while (sent < count && sent - acked < 2000) {
      const a = sent % assets;
      const step = Math.floor(sent / assets);
      const payload = JSON.stringify({
        tagId: `tag-${a}`,
        ts: new Date(t0 + step * 1000).toISOString(),
        pos: { lat: 48 + step * 0.002 + a * 1e-6, lng: 11 + a * 1e-5 },
        zone: `Z${step % 5}`,
        sensors: { engineTempC: 80 + (step % 10), batteryV: 12.6 },
        hours: 1000 + step * 0.01,
      });
      sent++;
      client.publish(`${prefix}/tag-${a}/telemetry`, payload, { qos: 1 }, () => {
        acked++;
        if (acked === count) resolve();
        else if (sent - acked < 1000) pump();
      });
    }
  };
  pump();
});
await client.endAsync();
process.stdout.write(`${JSON.stringify({ sent, acked })}\n`);
