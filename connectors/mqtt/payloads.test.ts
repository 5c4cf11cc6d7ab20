import { describe, expect, it } from 'vitest';
import { BadInputError, PayloadError } from '../../core/errors.js';
import { uplinkDraftFor, type MqttMessage } from './payloads.js';
import { pubackReasonFor, rejectionNotice } from './replies.js';
import { expectedPayload, loadMqttFixtures } from './testing/fixtures.js';
import { parseTopic } from './topics.js';

const fixtures = loadMqttFixtures();
const MAX_PAYLOAD_BYTES = 262_144;

function draftOf(topic: string, payload: Buffer, maxPayloadBytes = MAX_PAYLOAD_BYTES) {
  const message: MqttMessage = { topic, payload, qos: 1, retain: false };
  return uplinkDraftFor(parseTopic(topic, ''), message, maxPayloadBytes);
}

function refusalOf(topic: string, payload: Buffer): BadInputError {
  try {
    draftOf(topic, payload);
  } catch (err) {
    if (err instanceof BadInputError) return err;
    throw err;
  }
  throw new Error(`expected ${topic} to be refused`);
}

describe('MQTT fixtures', () => {
  it('has valid and invalid fixtures for every topic kind', () => {
    expect(fixtures.filter((f) => f.uplink).length).toBeGreaterThanOrEqual(8);
    expect(fixtures.filter((f) => f.rejected).length).toBeGreaterThanOrEqual(14);
    expect(fixtures.every((f) => (f.uplink === undefined) !== (f.rejected === undefined))).toBe(true);
  });

  for (const fixture of fixtures.filter((f) => f.uplink)) {
    it(`turns ${fixture.name} into the expected uplink: ${fixture.description}`, () => {
      const uplink = fixture.uplink!;
      const { payload, deviceTimeAt, ...draft } = draftOf(fixture.topic, fixture.payload);

      expect(draft).toEqual({
        idempotencyKey: uplink.idempotencyKey,
        deviceId: uplink.deviceId,
        transport: uplink.transport,
        payloadFormat: uplink.payloadFormat,
        sourceAddress: fixture.topic,
        radio: uplink.radio,
        metadata: uplink.metadata,
      });
      expect(deviceTimeAt == null ? null : new Date(deviceTimeAt).toISOString()).toBe(uplink.deviceTimeAt);
      expect(payload.equals(expectedPayload(fixture, uplink))).toBe(true);
    });
  }

  for (const fixture of fixtures.filter((f) => f.rejected)) {
    it(`refuses ${fixture.name} naming the field: ${fixture.description}`, () => {
      const rejected = fixture.rejected!;
      const error = refusalOf(fixture.topic, fixture.payload);

      expect(error).toBeInstanceOf(PayloadError);
      expect({ reason: error.reason, field: (error as PayloadError).field }).toEqual({ reason: rejected.reason, field: rejected.field });
      if (rejected.message !== undefined) expect(error.message).toBe(rejected.message);
      else expect(error.message.startsWith(rejected.messageStartsWith!), error.message).toBe(true);
      expect(pubackReasonFor(error)).toBe(rejected.pubackReasonCode);
      expect(rejectionNotice(error, fixture.topic)).toEqual({ reasonCode: rejected.reason, message: error.message, field: rejected.field, topic: fixture.topic });
    });
  }
});

describe('uplinkDraftFor', () => {
  const telemetry = fixtures.find((f) => f.name === 'station-telemetry')!;

  it('refuses a payload above the size limit before reading it', () => {
    const error = (() => {
      try {
        draftOf(telemetry.topic, telemetry.payload, 16);
      } catch (err) {
        return err;
      }
    })();
    expect(error).toMatchObject({ reason: 'PAYLOAD_TOO_LARGE', field: 'payload', message: `payload must be at most 16 bytes, got ${telemetry.payload.length}` });
  });

  it('refuses bytes that are not UTF-8 as malformed JSON', () => {
    const error = refusalOf(telemetry.topic, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    expect(error).toMatchObject({ reason: 'MALFORMED_JSON', message: 'payload is not valid UTF-8' });
  });

  it('refuses a calendar date that does not exist instead of rolling it over', () => {
    const payload = Buffer.from('{"time":"2026-02-30T07:15:00Z","co2Ppm":421,"temperatureC":4,"pressurePa":99870}');
    expect(refusalOf('stations/minsk-01/telemetry', payload)).toMatchObject({ reason: 'INVALID_FIELD', field: 'time' });
  });

  it('keeps retained messages and their QoS in the metadata', () => {
    const draft = uplinkDraftFor(parseTopic(telemetry.topic, ''), { topic: telemetry.topic, payload: telemetry.payload, qos: 0, retain: true }, MAX_PAYLOAD_BYTES);
    expect(draft.metadata).toEqual({ qos: '0', retain: 'true' });
  });

  it('gives the same bytes the same idempotency key and different bytes different keys', () => {
    const again = draftOf(telemetry.topic, Buffer.from(telemetry.payload));
    const changed = draftOf(telemetry.topic, Buffer.from(telemetry.payload.toString().replace('421.37', '421.38')));
    expect(again.idempotencyKey).toBe(draftOf(telemetry.topic, telemetry.payload).idempotencyKey);
    expect(changed.idempotencyKey).not.toBe(again.idempotencyKey);
  });

  it('picks the gateway with the better SNR, and the stronger one when SNRs tie', () => {
    const event = (rxInfo: object[]) => Buffer.from(JSON.stringify({
      deduplicationId: 'd-1', deviceInfo: { devEui: '70b3d5e75e001234' }, rxInfo,
    }));
    const topic = 'application/app-1/device/70b3d5e75e001234/event/up';
    const tie = draftOf(topic, event([
      { gatewayId: 'aaaaaaaaaaaaaaaa', rssi: -100, snr: 5 },
      { gatewayId: 'bbbbbbbbbbbbbbbb', rssi: -90, snr: 5 },
      { gatewayId: 'cccccccccccccccc', rssi: -80 },
    ]));
    expect(tie.radio).toMatchObject({ gatewayId: 'bbbbbbbbbbbbbbbb', rssiDbm: -90, snrDb: 5 });
    expect(draftOf(topic, event([])).radio).toMatchObject({ gatewayId: null, rssiDbm: null, snrDb: null, fCnt: 0 });
  });
});
