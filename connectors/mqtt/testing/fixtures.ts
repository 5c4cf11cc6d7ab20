/**
 * The MQTT fixtures in test/fixtures/mqtt: `<case>.json` is a payload exactly as a device publishes
 * it (publishable with `mosquitto_pub -f`), `<case>.expected.json` beside it names the topic and
 * what the connector must make of it: an uplink, or a refusal.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { RadioMetadata } from '../../../schemas/avro/index.js';

export const FIXTURE_DIR = new URL('../../../test/fixtures/mqtt/', import.meta.url);

/** The uplink a valid fixture must become; `payload` is `"input"` when the record keeps the published bytes. */
export interface ExpectedUplink {
  readonly deviceId: string;
  readonly idempotencyKey: string;
  readonly transport: string;
  readonly payloadFormat: string;
  readonly payload: 'input' | { readonly hex: string };
  /** ISO-8601, or null. */
  readonly deviceTimeAt: string | null;
  readonly radio: RadioMetadata | null;
  readonly metadata: Readonly<Record<string, string>>;
}

/** How an invalid fixture must be refused; exactly one of `message` and `messageStartsWith`. */
export interface ExpectedRejection {
  readonly reason: string;
  readonly field: string;
  readonly message?: string;
  readonly messageStartsWith?: string;
  readonly pubackReasonCode: number;
}

export interface MqttFixture {
  readonly name: string;
  readonly description: string;
  /** Without any topic prefix. */
  readonly topic: string;
  readonly payload: Buffer;
  readonly uplink?: ExpectedUplink;
  readonly rejected?: ExpectedRejection;
}

export function loadMqttFixtures(): MqttFixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((file) => file.endsWith('.expected.json'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -'.expected.json'.length);
      const expected = JSON.parse(readFileSync(new URL(file, FIXTURE_DIR), 'utf8')) as Omit<MqttFixture, 'name' | 'payload'>;
      return { ...expected, name, payload: readFileSync(new URL(`${name}.json`, FIXTURE_DIR)) };
    });
}

/** The bytes a valid fixture's record must carry. */
export function expectedPayload(fixture: MqttFixture, uplink: ExpectedUplink): Buffer {
  return uplink.payload === 'input' ? fixture.payload : Buffer.from(uplink.payload.hex, 'hex');
}
