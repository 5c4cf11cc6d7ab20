/**
 * End to end on the local stack: the simulated fleet sends over MQTT, HTTP, M-Bus over TCP and a
 * LoRaWAN network server to the real connectors; decode and index run as their own processes.
 * Simulator traffic must become readings in Elasticsearch (reconciled by id with the ledger and
 * the topics), new devices must register themselves in PostgreSQL, and bad input sent through the
 * connectors must be searchable in the rejects alias with its reason.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeLongFrame } from '../../protocols/mbus/index.js';
import { createLedger } from '../../connectors/simulator/ledger.js';
import { deviceIdOf as simulatedDeviceId } from '../../connectors/simulator/messages.js';
import { createMqttPublisher } from '../../connectors/simulator/senders/mqtt-publisher.js';
import { createTcpGateway } from '../../connectors/simulator/senders/tcp-gateway.js';
import type { Device, RawUplink, Reading } from '../../schemas/avro/index.js';
import { deviceIdOf, wmbusUplink, type TestMeter } from '../../streams/decode/testing/uplinks.js';
import { waitFor } from '../support/stack.js';
import { finishSimulation, startPipeline, type Pipeline } from './pipeline.js';
import { reconcile, settle, type SettledRun } from './reconcile.js';

const MEDIUM_NAMES: Record<number, string> = { 0x02: 'electricity', 0x03: 'gas', 0x04: 'heat', 0x07: 'water' };

let pipeline: Pipeline;
let run: SettledRun;
/** Meters outside the fleet that the test sends bad input for. */
const badMeter = (n: number): TestMeter => ({ id: 90_000_000 + Math.floor(Math.random() * 9_000_000) + n, manufacturer: 'ELS', version: 0x21, medium: 0x07 });
const bad = { checksum: badMeter(1), keyless: badMeter(2) };
const badDevices = new Set([deviceIdOf(bad.checksum), deviceIdOf(bad.keyless)]);
let httpAnswer: { status: number; body: { error?: { code?: string } } };
const badLedger = createLedger();

beforeAll(async () => {
  pipeline = await startPipeline({
    label: 'e2e',
    mix: { 'mbus-tcp': 3, 'wmbus-mqtt': 3, 'chirpstack-mqtt': 3, 'lns-websocket': 3, http: 3, 'station-mqtt': 2 },
    backfillMs: 6 * 3_600_000,
    speed: 1800,
  });
  for (const id of badDevices) pipeline.createdDevices.add(id);
  await pipeline.startSimulator();
  await sendBadInput();
  const ledger = await finishSimulation(pipeline);
  run = await settle(pipeline, ledger, badDevices);
}, 600_000);

afterAll(async () => {
  await pipeline?.close();
}, 300_000);

/** Bad input through real connectors: a damaged frame over TCP, a telegram nobody has the key of over MQTT, a bad HTTP field. */
async function sendBadInput(): Promise<void> {
  const { kernel } = pipeline;
  const frame = encodeLongFrame({ ...bad.checksum, accessNumber: 7, records: [{ kind: 'bcd', digits: 8, vif: 0x13, value: 1234 }] });
  frame[frame.length - 2] = frame[frame.length - 2]! ^ 0xff;
  const gateway = createTcpGateway({ host: '127.0.0.1', port: pipeline.tcpPort, ledger: badLedger, logger: kernel.logger, name: 'e2e-bad-gateway' });
  gateway.send(frame);

  const telegram = wmbusUplink(bad.keyless, { litres: 4321 }, Uint8Array.from(randomBytes(16))).payload;
  const publisher = await createMqttPublisher({ url: kernel.config.mqtt.url, clientId: `${kernel.prefix}bad`, ledger: badLedger, logger: kernel.logger });
  publisher.publish('wmbus-mqtt', `${pipeline.mqttTopicPrefix}wmbus/e2e-gw/telegram`, JSON.stringify({ telegram: telegram.toString('hex'), rssiDbm: -81 }));

  const response = await fetch(`${pipeline.httpBaseUrl}/v1/uplinks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${pipeline.httpToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ stationId: 'e2e-bad', values: { CO2: 400 } }),
  });
  httpAnswer = { status: response.status, body: (await response.json()) as typeof httpAnswer.body };

  await waitFor('answers to the bad input', () => gateway.pending() === 0 && publisher.pending() === 0, { timeoutMs: 30_000 });
  await gateway.close();
  await publisher.close();
}

const isKind = (kind: string) => pipeline.simulator.devices.filter((d) => d.kind === kind);

describe('the pipeline end to end', () => {
  it('turns every simulated message into readings in Elasticsearch, reconciled by id with the ledger and the topics', () => {
    expect(run.indexed.length).toBeGreaterThan(0);
    reconcile(pipeline, run);
    // Every kind of device got through, each with its canonical units.
    const units = new Map<string, Set<string>>();
    for (const r of run.indexed) units.set(r.quantity, (units.get(r.quantity) ?? new Set()).add(r.unit));
    expect(Object.fromEntries([...units].filter(([q]) => ['volume', 'energy', 'co2', 'pressure'].includes(q)).map(([q, u]) => [q, [...u]]))).toEqual(
      expect.objectContaining({ co2: ['ppm'], pressure: ['Pa'] }),
    );
    const readingDevices = new Set(run.indexed.map((r) => r.deviceId));
    expect(pipeline.simulator.devices.map(simulatedDeviceId).filter((id) => !readingDevices.has(id))).toEqual([]);
    // The onboarded wireless meters' readings carry their organisation.
    for (const r of run.indexed.filter((x) => pipeline.onboarded.has(x.deviceId))) expect(r.organisationId).toBe(pipeline.organisation);
  });

  it('registers each new device in PostgreSQL as new, with what its uplinks told, first seen at its first uplink', async () => {
    const firstUplink = new Map<string, RawUplink>();
    for (const u of run.raw) if (!firstUplink.has(u.deviceId)) firstUplink.set(u.deviceId, u);
    const expectedNew = pipeline.simulator.devices.filter((d) => {
      const id = simulatedDeviceId(d);
      return !pipeline.preexisting.has(id) && !pipeline.onboarded.has(id);
    });
    expect(expectedNew.length).toBeGreaterThan(0);
    const { rows } = await pipeline.db.query<{ id: string; status: string; manufacturer: string | null; medium: string | null; first_seen_at: Date; first_uplink_id: string }>(
      'SELECT id, status, manufacturer, medium, first_seen_at, first_uplink_id FROM devices WHERE id = ANY($1)', [expectedNew.map(simulatedDeviceId)],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const device of expectedNew) {
      const id = simulatedDeviceId(device);
      const first = firstUplink.get(id)!;
      expect(byId.get(id), id).toMatchObject({ status: 'new', first_seen_at: new Date(first.receivedAt), first_uplink_id: first.uplinkId });
      if (device.kind === 'mbus-tcp') expect(byId.get(id)).toMatchObject({ manufacturer: device.manufacturer, medium: MEDIUM_NAMES[device.medium] });
      if (device.kind === 'station-mqtt') expect(byId.get(id)).toMatchObject({ medium: 'ghg_station' });
    }
    // device.v1 reached Elasticsearch too: every fleet device has its document.
    await waitFor('every fleet device in the devices alias', async () => {
      const docs = await pipeline.documents<Device>('devices');
      const ids = new Set(docs.map((d) => d._id));
      return pipeline.simulator.devices.every((d) => ids.has(simulatedDeviceId(d)));
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    const newDocs = await pipeline.documents<Device>('devices', { terms: { deviceId: expectedNew.map(simulatedDeviceId) } });
    expect(newDocs.map((d) => d.status)).toEqual(expectedNew.map(() => 'NEW'));
    expect(isKind('wmbus-mqtt').length).toBe(pipeline.onboarded.size);
  });

  it('keeps bad input searchable in the rejects alias with its reason, and tells each sender', async () => {
    expect(badLedger['mbus-tcp']).toMatchObject({ sent: 1, refused: 1, acknowledged: 0 });
    expect(badLedger['wmbus-mqtt']).toMatchObject({ sent: 1, acknowledged: 1 });
    expect(httpAnswer).toMatchObject({ status: 400, body: { error: { code: 'INVALID_FIELD' } } });

    const search = (reasonCode: string) => pipeline.documents<Record<string, unknown>>('rejects', { term: { reasonCode } });
    const [checksum, keyless, field] = await waitFor('the three rejects in Elasticsearch', async () => {
      const found = await Promise.all(['MBUS_BAD_CHECKSUM', 'KEY_MISSING', 'INVALID_FIELD'].map(search));
      return found.every((hits) => hits.length === 1) && found.map((hits) => hits[0]!);
    }, { timeoutMs: 90_000, intervalMs: 1000 });
    expect(checksum).toMatchObject({ stage: 'connector', transport: 'MBUS_TCP' });
    expect(keyless).toMatchObject({ stage: 'decode', deviceId: deviceIdOf(bad.keyless), originalTopic: pipeline.kernel.catalogue.rawUplinks.name });
    expect(Buffer.from(keyless!['originalKey'] as string, 'base64').toString('utf8')).toBe(deviceIdOf(bad.keyless));
    expect(field).toMatchObject({ stage: 'connector', transport: 'HTTP', paths: ['values.CO2'] });
    // The reason is searchable by word, as an operator looks for it.
    const byWords = await pipeline.documents<Record<string, unknown>>('rejects', { match: { reasonMessage: 'key' } });
    expect(byWords.map((d) => d['reasonCode'])).toContain('KEY_MISSING');
    // No reading came of any of it.
    expect(run.readings.filter((r: Reading) => badDevices.has(r.deviceId))).toEqual([]);
  });
});
