/**
 * Publishes what MQTT devices and gateways send: station telemetry, ChirpStack events and wireless
 * M-Bus gateway telegrams, QoS 1 with a persistent session, so the broker restarting or the link
 * dropping redelivers instead of losing. A message counts as acknowledged on its PUBACK.
 *
 * Faults: a `duplicate` publish (a device repeating itself) and a `garbage` one (bad JSON, which the
 * connector refuses with an MQTT 5 reason code) are counted as such, never as sent or acknowledged;
 * `drop` cuts the connection under the client, which reconnects and resumes its session.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { countsOf, type Ledger } from '../ledger.js';

export interface MqttPublisher {
  publish(transport: string, topic: string, payload: string | Buffer, options?: { readonly fault?: 'duplicate' | 'garbage' }): void;
  /** Cuts the connection; counted as a disconnect of every transport in `transports`. */
  drop(transports: readonly string[]): void;
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
    publish(transport, topic, payload, { fault } = {}) {
      const counts = countsOf(options.ledger, transport);
      if (fault === 'duplicate') counts.duplicates++;
      else if (fault === 'garbage') counts.garbage++;
      else counts.sent++;
      inFlight++;
      client.publish(topic, payload, { qos: 1 }, (err) => {
        inFlight--;
        if (fault !== undefined) return;
        if (err) counts.refused++;
        else counts.acknowledged++;
      });
    },
    drop(transports) {
      if (!client.connected) return;
      for (const transport of transports) countsOf(options.ledger, transport).disconnects++;
      client.stream.destroy();
    },
    pending: () => inFlight,
    close: () => client.endAsync(),
  };
}
