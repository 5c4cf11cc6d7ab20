import { describe, expect, it } from 'vitest';
import { planPeriod, type AccountRegister, type ConsumptionRow, type ExportedLine, type PeriodSnapshot } from './plan.js';
import type { Tariff } from './tariffs.js';

const NOW = Date.UTC(2026, 3, 5);
const MARCH = Date.UTC(2026, 1, 28, 21);

function consumption(registerId: string, deltaM3: bigint, over: Partial<ConsumptionRow> = {}): ConsumptionRow {
  return {
    registerId, periodStartAt: MARCH, localPeriod: '2026-03', deviceId: `mbus:${registerId}`, organisationId: 'org',
    status: 'FINAL', revision: 1, startValueNanos: 100_000_000_000n, endValueNanos: 100_000_000_000n + deltaM3 * 1_000_000_000n,
    deltaNanos: deltaM3 * 1_000_000_000n, unit: 'm3', quality: 'MEASURED', receivedAt: NOW - 60_000, ...over,
  };
}

function mapping(account: string, registerId: string, row: ConsumptionRow | null, over: Partial<AccountRegister> = {}): AccountRegister {
  return {
    accountId: `acc-${account}`, accountNumber: account, address: `street ${account}`, organisationId: 'org', tariffGroup: 'default',
    registerId, resource: 'gas', consumption: row, meterSerial: `SN-${registerId}`, ...over,
  };
}

const gasTariff: Tariff = {
  id: 'gas-2026', organisationId: 'org', tariffGroup: 'default', resource: 'gas', priceMicros: 1_500_000n, unit: 'm3',
  currency: 'BYN', validFrom: '2026-01-01', validTo: null,
};

function snapshot(over: Partial<PeriodSnapshot>): PeriodSnapshot {
  return {
    period: '2026-03', now: NOW, settleMs: 300_000, mappings: [], orphans: [], exported: new Map(), tariffs: [gasTariff],
    billed: new Map(), sequences: new Map(), ...over,
  };
}

describe('planPeriod', () => {
  it('exports a month whose accounts are all final as one initial batch per format', () => {
    const plan = planPeriod(snapshot({
      mappings: [mapping('2', 'r2', consumption('r2', 7n)), mapping('1', 'r1', consumption('r1', 10n)), mapping('1', 'r1b', consumption('r1b', 1n))],
    }));
    expect(plan.problems).toEqual([]);
    expect(plan.batches.map((b) => [b.format, b.kind, b.sequence, b.claims.length])).toEqual([
      ['1c-csv', 'initial', 1, 3], ['1c-xml', 'initial', 1, 3], ['erip', 'initial', 1, 3],
    ]);
    expect(plan.batches[0]!.meterLines.map((l) => [l.accountNumber, l.registerId, l.consumptionNanos])).toEqual([
      ['1', 'r1', 10_000_000_000n], ['1', 'r1b', 1_000_000_000n], ['2', 'r2', 7_000_000_000n],
    ]);
    // one request per account and resource: 11 m3 × 1.50 = 16.50, 7 m3 × 1.50 = 10.50
    expect(plan.batches[2]!.paymentLines.map((l) => [l.accountNumber, l.quantityMilli, l.amountMinor, l.currency])).toEqual([
      ['1', 11_000n, 1650n, 'BYN'], ['2', 7_000n, 1050n, 'BYN'],
    ]);
    expect(plan.outstanding).toBe(true);
  });

  it('waits for an account whose register is still provisional, until the month has been quiet for settleMs', () => {
    const mappings = [mapping('1', 'r1', consumption('r1', 10n)), mapping('2', 'r2', consumption('r2', 5n, { status: 'PROVISIONAL', receivedAt: NOW - 1000 }))];
    const waiting = planPeriod(snapshot({ mappings }));
    expect(waiting.batches).toEqual([]);
    expect(waiting.outstanding).toBe(true);

    const settled = planPeriod(snapshot({ mappings, now: NOW + 300_000 }));
    expect(settled.batches.map((b) => [b.format, b.kind, b.meterLines.length + b.paymentLines.length])).toEqual([
      ['1c-csv', 'initial', 1], ['1c-xml', 'initial', 1], ['erip', 'initial', 1],
    ]);
  });

  it('sends what became ready after the first batch as a supplement', () => {
    const exported = new Map<string, ExportedLine>(['1c-csv', '1c-xml', 'erip'].map((f) => [`${f}|r1`, { revision: 1, batchId: `org:2026-03:${f}:1`, sequence: 1 }]));
    const plan = planPeriod(snapshot({
      mappings: [mapping('1', 'r1', consumption('r1', 10n)), mapping('2', 'r2', consumption('r2', 5n))],
      exported,
      sequences: new Map([['org|1c-csv', 1], ['org|1c-xml', 1], ['org|erip', 1]]),
    }));
    expect(plan.batches.map((b) => [b.format, b.kind, b.sequence, b.claims.map((c) => c.registerId)])).toEqual([
      ['1c-csv', 'supplement', 2, ['r2']], ['1c-xml', 'supplement', 2, ['r2']], ['erip', 'supplement', 2, ['r2']],
    ]);
  });

  it('exports nothing twice: a month already exported at the current revisions plans no batch', () => {
    const exported = new Map<string, ExportedLine>(['1c-csv', '1c-xml', 'erip'].map((f) => [`${f}|r1`, { revision: 1, batchId: `b-${f}`, sequence: 1 }]));
    const plan = planPeriod(snapshot({ mappings: [mapping('1', 'r1', consumption('r1', 10n))], exported }));
    expect(plan).toEqual({ batches: [], problems: [], outstanding: false });
  });

  it('corrects a restated register in a batch that references the one that billed it, with the previous amount', () => {
    const exported = new Map<string, ExportedLine>([
      ...['1c-csv', '1c-xml', 'erip'].map((f): [string, ExportedLine] => [`${f}|r1`, { revision: 1, batchId: `org:2026-03:${f}:1`, sequence: 1 }]),
      ...['1c-csv', '1c-xml', 'erip'].map((f): [string, ExportedLine] => [`${f}|r2`, { revision: 1, batchId: `org:2026-03:${f}:2`, sequence: 2 }]),
    ]);
    const plan = planPeriod(snapshot({
      mappings: [mapping('1', 'r1', consumption('r1', 12n, { status: 'RESTATED', revision: 3 })), mapping('2', 'r2', consumption('r2', 5n))],
      exported,
      billed: new Map([['acc-1|gas', 1500n]]),
      sequences: new Map([['org|1c-csv', 2], ['org|1c-xml', 2], ['org|erip', 2]]),
    }));
    expect(plan.batches.map((b) => [b.format, b.kind, b.sequence, b.corrects, b.claims.map((c) => [c.registerId, c.revision])])).toEqual([
      ['1c-csv', 'correction', 3, { batchId: 'org:2026-03:1c-csv:1', sequence: 1 }, [['r1', 3]]],
      ['1c-xml', 'correction', 3, { batchId: 'org:2026-03:1c-xml:1', sequence: 1 }, [['r1', 3]]],
      ['erip', 'correction', 3, { batchId: 'org:2026-03:erip:1', sequence: 1 }, [['r1', 3]]],
    ]);
    expect(plan.batches[2]!.paymentLines[0]).toMatchObject({ amountMinor: 1800n, previousAmountMinor: 1500n });
  });

  it('records a register without an account and exports everything else', () => {
    const plan = planPeriod(snapshot({ mappings: [mapping('1', 'r1', consumption('r1', 10n))], orphans: [consumption('lost', 3n)] }));
    expect(plan.problems).toEqual([expect.objectContaining({
      id: 'REGISTER_WITHOUT_ACCOUNT|lost|2026-03', reason: 'REGISTER_WITHOUT_ACCOUNT', registerId: 'lost', deviceId: 'mbus:lost', formats: ['1c-csv', '1c-xml', 'erip'],
    })]);
    expect(plan.batches).toHaveLength(3);
  });

  it('holds back only the ERIP request of an account without a tariff, and says why', () => {
    const plan = planPeriod(snapshot({
      mappings: [mapping('1', 'r1', consumption('r1', 10n)), mapping('2', 'r2', consumption('r2', 5n), { resource: 'water' }),
        mapping('3', 'r3', consumption('r3', 5n), { resource: null })],
    }));
    expect(plan.problems.map((p) => [p.reason, p.accountId, p.formats])).toEqual([
      ['ACCOUNT_WITHOUT_TARIFF', 'acc-2', ['erip']], ['REGISTER_WITHOUT_RESOURCE', 'acc-3', ['erip']],
    ]);
    expect(plan.batches.map((b) => [b.format, b.meterLines.length + b.paymentLines.length])).toEqual([['1c-csv', 3], ['1c-xml', 3], ['erip', 1]]);
  });

  it('refuses to price a register whose unit the tariff is not priced in', () => {
    const plan = planPeriod(snapshot({ mappings: [mapping('1', 'r1', consumption('r1', 10n, { unit: 'Wh' }))] }));
    expect(plan.problems.map((p) => p.reason)).toEqual(['TARIFF_UNIT_MISMATCH']);
    expect(plan.batches.map((b) => b.format)).toEqual(['1c-csv', '1c-xml']);
  });

  it('prices kilowatt-hour tariffs from watt-hour registers with one rounding per request', () => {
    const kwh: Tariff = { ...gasTariff, id: 'el', resource: 'electricity', unit: 'kWh', priceMicros: 250_000n };
    const plan = planPeriod(snapshot({
      tariffs: [kwh],
      mappings: [
        mapping('1', 'e1', consumption('e1', 0n, { unit: 'Wh', deltaNanos: 617_250_000_000_000n, endValueNanos: 717_250_000_000_000n }), { resource: 'electricity' }),
        mapping('1', 'e2', consumption('e2', 0n, { unit: 'Wh', deltaNanos: 617_250_000_000_000n, endValueNanos: 717_250_000_000_000n }), { resource: 'electricity' }),
      ],
    }));
    // 2 × 617.25 kWh = 1234.5 kWh × 0.25 = 308.625 → 308.63
    expect(plan.batches[2]!.paymentLines).toEqual([expect.objectContaining({ quantityMilli: 1_234_500n, tariffUnit: 'kWh', amountMinor: 30863n })]);
  });
});
