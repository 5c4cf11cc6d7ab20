/**
 * Publishes what MQTT devices and gateways send: station telemetry, ChirpStack events and wireless
 * M-Bus gateway telegrams, QoS 1 with a persistent session, so the broker restarting or the link
 * dropping redelivers instead of losing. A message counts as acknowledged on its PUBACK.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { countsOf, type Ledger } from '../ledger.js';

export interface MqttPublisher {
  publish(transport: string, topic: string, payload: string | Buffer): void;
  pending(): number;
  close(): Promise<void>;
}

export async function createMqttPublisher(options: { url: string; clientId: string; ledger: Ledger; logger: Logger }): Promise<MqttPublisher> {
  const client: MqttClient = await mqtt.connectAsync(options.url, {
    clientId: options.clientId,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 500,
  });
  client.on('error', (err) => options.logger.debug({ err }, 'simulator MQTT error'));
  let inFlight = 0;
  return {
    publish(transport, topic, payload) {
      const counts = countsOf(options.ledger, transport);
      counts.sent++;
      inFlight++;
      client.publish(topic, payload, { qos: 1 }, (err) => {
        inFlight--;
        if (err) counts.refused++;
        else counts.acknowledged++;
      });
    },
    pending: () => inFlight,
    close: () => client.endAsync(),
  };
}
