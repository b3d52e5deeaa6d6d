/**
 * MQTT ingest: the source (broker connection, ack after commit) and the decoder for its topics.
 * @module
 */
import type { MqttSourceConfig } from '../../../config/schema.js';
import type { Decoder } from '../../../core/normalize/decoder.js';
import { createJsonDecoder } from '../../../core/normalize/json-decoder.js';

export { createMqttSource, type MqttSource, type MqttSourceOptions, type MqttSourceStats, type SourceLogger } from './mqtt-source.js';

/** The decoder for an MQTT source's messages: its topic filters with their JSON decoder configs. */
export function createMqttDecoder(config: MqttSourceConfig): Decoder {
  return createJsonDecoder(`mqtt:${config.name}`, config.topics);
}
