import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import {
  encodeText, fileNameOf, LayoutError, renderErip, renderOneCCsv, renderOneCXml,
  type BatchHeader, type FileEncoding, type MeterLine, type PaymentLine,
} from './formats.js';

const FIXTURES = new URL('../../test/fixtures/billing/', import.meta.url);
/** `BILLING_UPDATE_GOLDEN=1` rewrites the golden files from the current renderers (review the diff!). */
const UPDATE = process.env['BILLING_UPDATE_GOLDEN'] === '1';

const header: BatchHeader = {
  batchId: 'org-7:2026-03:1c-csv:1',
  organisationId: 'org-7',
  period: '2026-03',
  format: '1c-csv',
  kind: 'initial',
  sequence: 1,
  corrects: null,
  createdAt: Date.UTC(2026, 3, 2, 9, 30, 5, 123),
};

const meterLines: MeterLine[] = [
  {
    accountNumber: '100200300', address: 'г. Минск, ул. Сурганова, д. 5; кв. "12"', meterSerial: '10020387',
    registerId: 'reg-0042', startValueNanos: 1_234_500_000_000n, endValueNanos: 1_250_125_000_001n,
    consumptionNanos: 15_625_000_001n, unit: 'm3', quality: 'MEASURED', revision: 1,
  },
  {
    accountNumber: '100200300', address: 'г. Минск, ул. Сурганова, д. 5; кв. "12"', meterSerial: 'mbus:1002038804771407',
    registerId: 'reg-0043', startValueNanos: 0n, endValueNanos: 350_000_000_000n,
    consumptionNanos: 350_000_000_000n, unit: 'Wh', quality: 'INTERPOLATED', revision: 3,
  },
  {
    accountNumber: 'A-77', address: null, meterSerial: 'SN 77 <b&w>', registerId: 'reg-0077',
    startValueNanos: 99_999_000_000_000n, endValueNanos: 100_000_500_000_000n, consumptionNanos: 1_500_000_000_000n,
    unit: 'm3', quality: 'ESTIMATED', revision: 2,
  },
];

const paymentLines: PaymentLine[] = [
  { accountNumber: '100200300', resource: 'gas', quantityMilli: 15_625n, tariffUnit: 'm3', amountMinor: 1929n, previousAmountMinor: 0n, currency: 'BYN' },
  { accountNumber: '100200300', resource: 'electricity', quantityMilli: 350_000n, tariffUnit: 'kWh', amountMinor: 8750n, previousAmountMinor: 9000n, currency: 'BYN' },
  { accountNumber: 'A-77', resource: 'water', quantityMilli: 1_500_000n, tariffUnit: 'm3', amountMinor: 312_345n, previousAmountMinor: 0n, currency: 'EUR' },
];

const correction: BatchHeader = { ...header, batchId: 'org-7:2026-03:erip:2', format: 'erip', kind: 'correction', sequence: 2, corrects: { batchId: 'org-7:2026-03:erip:1', sequence: 1 } };

function golden(name: string, extension: string, encoding: FileEncoding, text: string): void {
  const bytes = encodeText(text, encoding);
  const url = new URL(`${name}.${encoding}.${extension}`, FIXTURES);
  if (UPDATE) writeFileSync(url, bytes);
  expect(bytes.equals(readFileSync(url)), `${url.pathname} differs from the golden file`).toBe(true);
}

describe('the 1C CSV file', () => {
  const csv = renderOneCCsv(header, meterLines);

  it.each(['utf-8', 'windows-1251'] as const)('matches its golden file in %s', (encoding) => {
    golden('1c', 'csv', encoding, csv);
    golden('1c', 'xml', encoding, renderOneCXml({ ...header, format: '1c-xml' }, meterLines, encoding));
  });

  it('has a header row, CRLF line ends, decimal commas and quotes only where needed', () => {
    const rows = csv.split('\r\n');
    expect(rows).toHaveLength(meterLines.length + 2);
    expect(rows.at(-1)).toBe('');
    expect(rows[0]!.split(';')).toHaveLength(13);
    expect(rows[1]).toBe('100200300;"г. Минск, ул. Сурганова, д. 5; кв. ""12""";10020387;reg-0042;2026-03;1234,500;1250,125000001;15,625000001;m3;MEASURED;1;initial;');
    expect(rows[3]).toBe('A-77;;SN 77 <b&w>;reg-0077;2026-03;99999,000;100000,500;1500,000;m3;ESTIMATED;2;initial;');
  });

  it('encodes Cyrillic as single Windows-1251 bytes, and what that code page lacks as ?', () => {
    const bytes = encodeText('Сч€т 😀', 'windows-1251');
    expect([...bytes]).toEqual([0xd1, 0xf7, 0x88, 0xf2, 0x20, 0x3f, 0x3f]);
    expect(iconv.decode(encodeText(csv, 'windows-1251'), 'win1251')).toBe(csv);
  });
});

describe('the 1C XML file', () => {
  const xml = renderOneCXml({ ...header, format: '1c-xml' }, meterLines, 'windows-1251');

  it('declares its encoding, groups readings by account, escapes attributes and totals per unit', () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="windows-1251"?>\r\n')).toBe(true);
    expect(xml.match(/<ЛицевойСчет /g)).toHaveLength(2);
    expect(xml).toContain('Адрес="г. Минск, ул. Сурганова, д. 5; кв. &quot;12&quot;"');
    expect(xml).toContain('ЗаводскойНомер="SN 77 &lt;b&amp;w&gt;"');
    expect(xml).toContain('<Итоги Строк="3" Счетов="2">');
    expect(xml).toContain('<Расход Единица="Wh" Всего="350.000"/>');
    expect(xml).toContain('<Расход Единица="m3" Всего="1515.625000001"/>');
  });
});

describe('the ERIP file', () => {
  const erip = renderErip(correction, paymentLines);
  const records = erip.split('\r\n').slice(0, -1);

  it.each(['utf-8', 'windows-1251'] as const)('matches its golden file in %s', (encoding) => {
    golden('erip', 'txt', encoding, erip);
  });

  it('has fixed-width records: header 80, details 131, one trailer of 44 per currency', () => {
    expect(records.map((r) => [r[0], r.length])).toEqual([['H', 80], ['D', 131], ['D', 131], ['D', 131], ['T', 44], ['T', 44]]);
  });

  it('puts each field at its documented position', () => {
    const [h, d1, d2] = records as [string, string, string];
    expect(h.slice(3, 39).trimEnd()).toBe('org-7');
    expect(h.slice(39, 45)).toBe('202603');
    expect(h.slice(45, 51)).toBe('000002');
    expect(h[51]).toBe('C');
    expect(h.slice(52, 58)).toBe('000001');
    expect(h.slice(58, 72)).toBe('20260402093005');
    expect(h.slice(72, 80)).toBe('00000003');
    expect(d2.slice(1, 9)).toBe('00000002');
    expect(d2.slice(9, 39).trimEnd()).toBe('100200300');
    expect(d2.slice(39, 45)).toBe('202603');
    expect(d2.slice(45, 57).trimEnd()).toBe('ELECTRICITY');
    expect(d2.slice(57, 74)).toBe('+000000000350.000');
    expect(d2.slice(74, 80).trimEnd()).toBe('kWh');
    expect(d2.slice(80, 96)).toBe('+000000000087.50');
    expect(d2.slice(96, 112)).toBe('+000000000090.00');
    expect(d2.slice(112, 128)).toBe('-000000000002.50');
    expect(d2.slice(128, 131)).toBe('BYN');
    expect(d1.slice(80, 96)).toBe('+000000000019.29');
    expect(records[4]).toBe('TBYN00000002+000000000106.79+000000000016.79');
    expect(records[5]).toBe('TEUR00000001+000000003123.45+000000003123.45');
  });

  it('refuses values that do not fit their fields', () => {
    expect(() => renderErip(correction, [{ ...paymentLines[0]!, accountNumber: 'x'.repeat(31) }])).toThrow(LayoutError);
    expect(() => renderErip(correction, [{ ...paymentLines[0]!, amountMinor: 10n ** 14n }])).toThrow(/at most 12 integer digits/);
  });
});

describe('fileNameOf', () => {
  it('names a batch by organisation, period, format and sequence, with safe characters only', () => {
    expect(fileNameOf({ organisationId: 'org 7/x', period: '2026-03', format: 'erip', sequence: 2 })).toBe('org_7_x_2026-03_erip_002.txt');
  });
});
