/**
 * Mutations against the real stack: registry edits land in PostgreSQL within the caller's
 * organisation, device keys are sealed and never readable, meter replacements reach the
 * consumption stage's table, re-drives go back to uplink.raw.v1 once; and subscriptions respect
 * access groups and token revocation.
 */
import { randomBytes } from 'node:crypto';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDeviceKey } from '../core/device-keys.js';
import { createRecordProducer, type RecordProducer } from '../core/kafka/record-producer.js';
import { readToEnd, waitFor } from '../test/support/stack.js';
import { createTestIndices, indexDocuments, reading } from './testing/fixtures.js';
import { startApiHarness, type ApiHarness } from './testing/harness.js';
import { REDRIVEN_FROM_HEADER } from './resolvers/mutations.js';

/** Answers as parsed JSON; the tests compare them by value. */
type Json = ReturnType<typeof JSON.parse>;

const MASTER_KEY = randomBytes(32);
let harness: ApiHarness;
let producer: RecordProducer;
let org: string;
let admin: string;
let other: string;
const clients: WsClient[] = [];

async function gql(secret: string, query: string, variables?: Record<string, unknown>): Promise<Json> {
  const { body } = await harness.query(secret, query, variables);
  if (body.errors) throw new Error(`${body.errors[0]!.extensions?.code}: ${body.errors[0]!.message}`);
  return body.data;
}

async function code(secret: string, query: string): Promise<string | undefined> {
  return (await harness.query(secret, query)).body.errors?.[0]?.extensions?.code;
}

beforeAll(async () => {
  harness = await startApiHarness({ label: 'api-mut', deviceKeyEncryptionKey: MASTER_KEY });
  producer = createRecordProducer({ kafka: harness.kernel.kafka, codec: harness.kernel.codec, topics: harness.kernel.catalogue.all });
  await producer.start();
  await createTestIndices(harness.api.services.elasticsearch, harness.api.services.indices, ['rejects']);
  org = await harness.organisation('Teplo');
  admin = (await harness.token(org, ['admin'])).secret;
  other = (await harness.token(await harness.organisation('Other'), ['admin'])).secret;
  await gql(admin, 'mutation { onboardDevice(input: { id: "mbus:0000000000000c01", registers: [{ registerKey: "energy", unit: "Wh", cumulative: true }] }) { id } }');
  await gql(admin, 'mutation { onboardDevice(input: { id: "mbus:0000000000000c02", registers: [{ registerKey: "energy", unit: "Wh", cumulative: true }] }) { id } }');
}, 300_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await producer?.stop();
  await harness?.stop();
});

describe('registry mutations', () => {
  it('edit a register and refuse values out of range, naming the argument', async () => {
    const updated = await gql(admin, 'mutation { updateRegister(id: "mbus:0000000000000c01/energy", input: { multiplier: "0.001", digits: 9, billingDayStartHour: 10 }) { multiplier digits billingDayStartHour } }');
    expect(updated.updateRegister).toEqual({ multiplier: '0.001', digits: 9, billingDayStartHour: 10 });
    const { body } = await harness.query(admin, 'mutation { updateRegister(id: "mbus:0000000000000c01/energy", input: { billingDayStartHour: 24 }) { digits } }');
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.billingDayStartHour' });
    expect(await code(other, 'mutation { updateRegister(id: "mbus:0000000000000c01/energy", input: { digits: 5 }) { digits } }')).toBe('NOT_FOUND');
  });

  it('announce register edits on device.v1, so decode drops its cached copy of the register', async () => {
    // A device heard once (decode announces devices it has not heard yet itself).
    await harness.db.query("UPDATE devices SET first_seen_at = now() WHERE id = 'mbus:0000000000000c02'");
    const updates = async () => {
      const messages = await readToEnd(harness.kernel, harness.kernel.catalogue.devices.name);
      const devices = await Promise.all(messages.map(async (m) => (await harness.kernel.codec.decode('Device', m.value)).value));
      return devices.filter((d) => d.deviceId === 'mbus:0000000000000c02' && d.change === 'UPDATED').map((d) => d.revision);
    };
    const before = await updates();
    await gql(admin, 'mutation { updateRegister(id: "mbus:0000000000000c02/energy", input: { multiplier: "10" }) { id } }');
    await gql(admin, 'mutation { saveRegister(deviceId: "mbus:0000000000000c02", input: { registerKey: "volume", unit: "m3", cumulative: true }) { id } }');
    const after = await waitFor('two device.v1 UPDATED records', async () => {
      const now = await updates();
      return now.length >= before.length + 2 ? now : undefined;
    }, { timeoutMs: 30_000 });
    const added = after.slice(before.length);
    expect(added).toHaveLength(2);
    expect(added[1]).toBe(added[0]! + 1);
  });

  it('expose the position and firmware decode stored, read-only, and keep them in the device.v1 records they announce', async () => {
    const device = '{ device(id: "mbus:0000000000000c02") { location { latitude longitude } firmwareVersion } }';
    expect((await gql(admin, device)).device).toEqual({ location: null, firmwareVersion: null });
    await harness.db.query("UPDATE devices SET first_seen_at = now(), latitude = 53.9045, longitude = 27.5615, firmware_version = '2.4.1' WHERE id = 'mbus:0000000000000c02'");
    expect((await gql(admin, device)).device).toEqual({ location: { latitude: 53.9045, longitude: 27.5615 }, firmwareVersion: '2.4.1' });

    await gql(admin, 'mutation { updateRegister(id: "mbus:0000000000000c02/energy", input: { digits: 9 }) { id } }');
    const announced = await waitFor('a device.v1 record with the stored position', async () => {
      const messages = await readToEnd(harness.kernel, harness.kernel.catalogue.devices.name);
      const devices = await Promise.all(messages.map(async (m) => (await harness.kernel.codec.decode('Device', m.value)).value));
      return devices.find((d) => d.deviceId === 'mbus:0000000000000c02' && d.latitudeDeg !== null);
    }, { timeoutMs: 30_000 });
    expect(announced).toMatchObject({ change: 'UPDATED', latitudeDeg: 53.9045, longitudeDeg: 27.5615, firmwareVersion: '2.4.1' });
  });

  it('read and write a register\'s resolution, keep it when omitted, and refuse one that is not positive', async () => {
    const register = '{ device(id: "mbus:0000000000000c01") { registers { registerKey resolution } } }';
    expect((await gql(admin, register)).device.registers).toEqual([{ registerKey: 'energy', resolution: null }]);
    const updated = await gql(admin, 'mutation { updateRegister(id: "mbus:0000000000000c01/energy", input: { resolution: "1000" }) { resolution } }');
    expect(updated.updateRegister).toEqual({ resolution: '1000' });
    await gql(admin, 'mutation { updateRegister(id: "mbus:0000000000000c01/energy", input: { maxGapSeconds: 3600 }) { id } }');
    const saved = await gql(admin, 'mutation { saveRegister(deviceId: "mbus:0000000000000c01", input: { registerKey: "volume", unit: "m3", cumulative: true, resolution: "0.001" }) { resolution } }');
    expect(saved.saveRegister).toEqual({ resolution: '0.001' });
    await gql(admin, 'mutation { saveRegister(deviceId: "mbus:0000000000000c01", input: { registerKey: "volume", unit: "m3", digits: 8 }) { id } }');
    expect((await gql(admin, register)).device.registers).toEqual([
      { registerKey: 'energy', resolution: '1000' },
      { registerKey: 'volume', resolution: '0.001' },
    ]);
    const { rows } = await harness.db.query("SELECT resolution::text FROM registers WHERE id = 'mbus:0000000000000c01/volume'");
    expect(rows[0]).toEqual({ resolution: '0.001000000000' });
    for (const [mutation, field] of [
      ['updateRegister(id: "mbus:0000000000000c01/energy", input: { resolution: "0" }) { id }', 'input.resolution'],
      ['updateRegister(id: "mbus:0000000000000c01/energy", input: { resolution: "-0.001" }) { id }', 'input.resolution'],
      ['saveRegister(deviceId: "mbus:0000000000000c01", input: { registerKey: "volume", unit: "m3", resolution: "0.000" }) { id }', 'input.resolution'],
    ]) {
      const { body } = await harness.query(admin, `mutation { ${mutation} }`);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect((await gql(admin, register)).device.registers).toEqual([
      { registerKey: 'energy', resolution: '1000' },
      { registerKey: 'volume', resolution: '0.001' },
    ]);
  });

  it('clear a register\'s digits, resolution and max gap with an explicit null, and refuse to clear what must have a value', async () => {
    const id = 'mbus:0000000000000c01/energy';
    await gql(admin, `mutation { updateRegister(id: "${id}", input: { digits: 7, resolution: "0.01", maxGapSeconds: 7200, multiplier: "2" }) { id } }`);
    const cleared = await gql(admin, `mutation { updateRegister(id: "${id}", input: { digits: null, resolution: null, maxGapSeconds: null }) { multiplier digits resolution } }`);
    expect(cleared.updateRegister).toEqual({ multiplier: '2', digits: null, resolution: null });
    const { rows } = await harness.db.query('SELECT digits, resolution, max_gap_s, multiplier::text FROM registers WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ digits: null, resolution: null, max_gap_s: null, multiplier: '2.000000000000' });
    for (const field of ['multiplier', 'billingDayStartHour']) {
      const { body } = await harness.query(admin, `mutation { updateRegister(id: "${id}", input: { ${field}: null }) { id } }`);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: `input.${field}` });
      expect(body.errors?.[0]?.message).toMatch(/cannot be cleared/);
    }
  });

  it('store a device key sealed with the master key, readable by decode and never through the API', async () => {
    const receipt = await gql(admin, 'mutation { setDeviceKey(deviceId: "mbus:0000000000000c01", keyHex: "000102030405060708090A0B0C0D0E0F") { deviceId } }');
    expect(receipt.setDeviceKey.deviceId).toBe('mbus:0000000000000c01');
    expect((await loadDeviceKey(harness.db, MASTER_KEY, 'mbus:0000000000000c01'))?.toString('hex')).toBe('000102030405060708090a0b0c0d0e0f');
    const { rows } = await harness.db.query('SELECT key_ciphertext FROM device_keys');
    expect(rows[0].key_ciphertext.toString('hex')).not.toContain('000102030405060708090a0b0c0d0e0f');
    expect((await gql(admin, '{ device(id: "mbus:0000000000000c01") { hasKey } }')).device.hasKey).toBe(true);
  });

  it('records a meter replacement for the consumption stage', async () => {
    const replaced = await gql(admin, 'mutation { replaceMeter(input: { registerId: "mbus:0000000000000c01/energy", replacedAt: "2026-03-10T12:00:00Z", oldFinalValue: "1234.5", newInitialValue: "0", newSerialNumber: "N-2" }) { id oldFinalValue } }');
    const { rows } = await harness.db.query('SELECT register_id, old_final_value::text, new_initial_value::text, new_serial_number FROM meter_replacements WHERE id = $1', [replaced.replaceMeter.id]);
    expect(rows[0]).toEqual({ register_id: 'mbus:0000000000000c01/energy', old_final_value: '1234.500000000', new_initial_value: '0.000000000', new_serial_number: 'N-2' });
    expect(await code(other, 'mutation { replaceMeter(input: { registerId: "mbus:0000000000000c01/energy", replacedAt: 0, oldFinalValue: "1", newInitialValue: "0" }) { id } }')).toBe('NOT_FOUND');
  });

  it('assigns billing accounts with validity, closing the previous assignment', async () => {
    await gql(admin, 'mutation { assignBillingAccount(input: { registerId: "mbus:0000000000000c01/energy", accountNumber: "LS-1", validFrom: "2026-01-01" }) { id } }');
    const after = await gql(admin, 'mutation { assignBillingAccount(input: { registerId: "mbus:0000000000000c01/energy", accountNumber: "LS-2", validFrom: "2026-03-01" }) { billingAccounts { accountNumber validFrom validTo } } }');
    expect(after.assignBillingAccount.billingAccounts).toEqual([
      { accountNumber: 'LS-1', validFrom: '2026-01-01', validTo: '2026-03-01' },
      { accountNumber: 'LS-2', validFrom: '2026-03-01', validTo: null },
    ]);
  });

  it('keeps emission factors per organisation: each sees published ones and its own, and edits only its own', async () => {
    await harness.db.query(`INSERT INTO emission_factors (id, resource, region, kg_co2e_per_unit, unit, scope, source, valid_from) VALUES ('ef-pub', 'electricity', 'BY', 0.000385, 'Wh', 2, 'published', '2025-01-01')`);
    const own = await gql(admin, 'mutation { saveEmissionFactor(input: { resource: "heat", region: "BY", kgCo2ePerUnit: "0.0002", unit: "Wh", scope: 2, source: "supplier", validFrom: "2026-01-01" }) { id own } }');
    expect(own.saveEmissionFactor.own).toBe(true);
    expect((await gql(admin, '{ emissionFactors { id own } }')).emissionFactors).toEqual([
      { id: 'ef-pub', own: false },
      { id: own.saveEmissionFactor.id, own: true },
    ]);
    expect((await gql(other, '{ emissionFactors { id } }')).emissionFactors).toEqual([{ id: 'ef-pub' }]);
    expect(await code(admin, 'mutation { saveEmissionFactor(input: { id: "ef-pub", resource: "heat", region: "BY", kgCo2ePerUnit: "1", unit: "Wh", scope: 2, source: "x", validFrom: "2026-01-01" }) { id } }')).toBe('NOT_FOUND');
  });
});

describe('re-drive', () => {
  it('re-produces a decode reject of the organisation\'s device to uplink.raw.v1 once, with its original bytes', async () => {
    const raw = harness.kernel.catalogue.rawUplinks.name;
    const reject = {
      deadLetterId: `decode|${raw}|0|7`,
      originalTopic: raw,
      originalPartition: 0,
      originalOffset: 7,
      originalKey: Buffer.from('mbus:0000000000000c01').toString('base64'),
      originalValue: Buffer.from([0, 1, 2, 3]).toString('base64'),
      originalHeaders: {},
      reasonCode: 'KEY_MISSING',
      reasonMessage: 'no key',
      paths: [],
      stage: 'decode',
      component: 'decode',
      deviceId: 'mbus:0000000000000c01',
      transport: 'MQTT',
      failedAt: Date.now(),
      attempt: 1,
      details: {},
    };
    await indexDocuments(harness.api.services.elasticsearch, harness.api.services.indices.rejects, [{ id: reject.deadLetterId, body: reject }]);
    expect((await gql(admin, '{ rejectedInput { edges { node { id reasonCode sizeBytes } } } }')).rejectedInput.edges).toEqual([{ node: { id: reject.deadLetterId, reasonCode: 'KEY_MISSING', sizeBytes: 4 } }]);
    expect((await gql(other, '{ rejectedInput { edges { node { id } } } }')).rejectedInput.edges).toEqual([]);
    expect(await code(other, `mutation { redriveRejectedInput(ids: ["${reject.deadLetterId}"]) { redriven } }`)).toBe('NOT_FOUND');

    const first = await gql(admin, `mutation { redriveRejectedInput(ids: ["${reject.deadLetterId}"]) { redriven alreadyRedriven } }`);
    expect(first.redriveRejectedInput).toEqual({ redriven: [reject.deadLetterId], alreadyRedriven: [] });
    const again = await gql(admin, `mutation { redriveRejectedInput(ids: ["${reject.deadLetterId}"]) { redriven alreadyRedriven } }`);
    expect(again.redriveRejectedInput).toEqual({ redriven: [], alreadyRedriven: [reject.deadLetterId] });
    const messages = await readToEnd(harness.kernel, raw);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.value).toEqual(Buffer.from([0, 1, 2, 3]));
    expect(messages[0]!.key?.toString()).toBe('mbus:0000000000000c01');
    expect(messages[0]!.headers[REDRIVEN_FROM_HEADER]?.toString()).toBe(reject.deadLetterId);
  });
});

describe('subscriptions and access', () => {
  const READINGS = 'subscription { readings { reading { deviceId value } } }';

  function ws(secret: string, lazy = true): WsClient {
    const client = createClient({ url: harness.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${secret}` }, retryAttempts: 0, lazy });
    clients.push(client);
    return client;
  }

  it('deliver to a token limited to an access group only the events of that group\'s devices', async () => {
    const group = (await gql(admin, 'mutation { createAccessGroup(name: "north") { id } }')).createAccessGroup.id;
    await gql(admin, `mutation { onboardDevice(input: { id: "mbus:0000000000000c02", accessGroupId: "${group}" }) { id } }`);
    const limited = (await harness.token(org, ['read'], { accessGroupIds: [group] })).secret;
    const seen: Json[] = [];
    const dispose = ws(limited).subscribe({ query: READINGS }, { next: (r) => void seen.push(r), error: () => undefined, complete: () => undefined });
    await waitFor('the subscription attached', () => harness.api.services.live.subscribers() === 1);
    await producer.produce(harness.kernel.catalogue.readings, [reading(org, 'mbus:0000000000000c01', 1, 1), reading(org, 'mbus:0000000000000c02', 1, 2)]);
    await waitFor('the group\'s event', () => seen.length >= 1);
    await producer.produce(harness.kernel.catalogue.readings, [reading(org, 'mbus:0000000000000c02', 2, 3)]);
    await waitFor('the second event', () => seen.length >= 2);
    expect(seen.map((r) => r.data.readings.reading.value)).toEqual([2, 3]);
    dispose();
    await waitFor('detached', () => harness.api.services.live.subscribers() === 0);
  });

  it('refuse subscriptions to a token without the read scope, and new operations once the token is revoked', async () => {
    const ingestOnly = (await harness.token(org, ['ingest'])).secret;
    const refused = await new Promise<unknown>((resolve) => {
      ws(ingestOnly).subscribe({ query: READINGS }, { next: resolve, error: resolve, complete: () => undefined });
    });
    expect(JSON.stringify(refused)).toContain('FORBIDDEN');

    const token = await harness.token(org, ['read']);
    // Not lazy: the socket stays open between operations, so the second one is checked on the same connection.
    const client = ws(token.secret, false);
    const first = await new Promise<Json>((resolve, reject) => client.subscribe({ query: '{ viewer { tokenId } }' }, { next: resolve, error: reject, complete: () => undefined }));
    expect(first.data.viewer.tokenId).toBe(token.id);
    await harness.db.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [token.id]);
    const second = await new Promise<unknown>((resolve) => client.subscribe({ query: '{ viewer { tokenId } }' }, { next: resolve, error: resolve, complete: () => undefined }));
    expect(JSON.stringify(second)).toContain('UNAUTHENTICATED');
  });
});
