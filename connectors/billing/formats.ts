/**
 * The export files, as pure functions from a batch to text and from text to bytes. The layouts are
 * specified in README.md ("File layouts"); golden files in test/fixtures/billing/ pin them.
 *
 * - `1c-csv`: one row per register, `;`-separated, decimal comma, Russian column names.
 * - `1c-xml`: the same rows grouped by account, with totals.
 * - `erip`: fixed-width payment requests, one per account and resource, with a header and a
 *   trailer per currency.
 */
import iconv from 'iconv-lite';
import { formatScaled, MONEY_SCALE, QUANTITY_SCALE } from './decimal.js';

/** The file formats of a batch; one batch has one format. */
export const BILLING_FORMATS = ['1c-csv', '1c-xml', 'erip'] as const;
export type BillingFormat = (typeof BILLING_FORMATS)[number];

/** Character encodings a file can be written in. */
export const FILE_ENCODINGS = ['utf-8', 'windows-1251'] as const;
export type FileEncoding = (typeof FILE_ENCODINGS)[number];

/** `initial`: the first batch of a period; `supplement`: lines that became ready later; `correction`: restated lines. */
export type BatchKind = 'initial' | 'supplement' | 'correction';

/** What every file says about its batch. */
export interface BatchHeader {
  readonly batchId: string;
  readonly organisationId: string;
  /** Local month, `YYYY-MM`. */
  readonly period: string;
  readonly format: BillingFormat;
  readonly kind: BatchKind;
  /** 1, 2, … per organisation, period and format. */
  readonly sequence: number;
  /** The batch a correction corrects, with its sequence; null otherwise. */
  readonly corrects: { readonly batchId: string; readonly sequence: number } | null;
  /** When the batch was planned (its ledger row), epoch ms; fixed, so re-rendering gives the same bytes. */
  readonly createdAt: number;
}

/** One register's figures for one month: a row of the 1C files. */
export interface MeterLine {
  readonly accountNumber: string;
  readonly address: string | null;
  readonly meterSerial: string;
  readonly registerId: string;
  readonly startValueNanos: bigint;
  readonly endValueNanos: bigint;
  readonly consumptionNanos: bigint;
  readonly unit: string;
  readonly quality: string;
  readonly revision: number;
}

/** One payment request: an ERIP detail record. */
export interface PaymentLine {
  readonly accountNumber: string;
  /** `gas`, `electricity`, `heat`, `water`. */
  readonly resource: string;
  /** Consumption in the tariff unit, thousandths (rounded half-up, for display; the amount is exact). */
  readonly quantityMilli: bigint;
  readonly tariffUnit: string;
  readonly amountMinor: bigint;
  /** What the previous batch billed for the same account, resource and period; 0 when none. */
  readonly previousAmountMinor: bigint;
  readonly currency: string;
}

const CRLF = '\r\n';

/** Thrown when a value does not fit its file layout (a too long account number, an amount beyond 12 digits). */
export class LayoutError extends Error {
  override readonly name = 'LayoutError';
}

function quantityText(value: bigint, separator: string): string {
  return formatScaled(value, QUANTITY_SCALE, { separator, minFraction: 3 });
}

const CSV_QUOTED = /[;"\r\n]|^\s|\s$/;

function csvField(text: string): string {
  return CSV_QUOTED.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const CSV_COLUMNS = [
  'ЛицевойСчет', 'Адрес', 'ЗаводскойНомер', 'Регистр', 'Период', 'ПоказаниеНачало', 'ПоказаниеКонец',
  'Расход', 'ЕдиницаИзмерения', 'Качество', 'Ревизия', 'ВидПакета', 'Исправляет',
] as const;

/** The 1C CSV file of a batch. */
export function renderOneCCsv(header: BatchHeader, lines: readonly MeterLine[]): string {
  const rows = [CSV_COLUMNS.join(';')];
  for (const line of lines) {
    rows.push([
      line.accountNumber,
      line.address ?? '',
      line.meterSerial,
      line.registerId,
      header.period,
      quantityText(line.startValueNanos, ','),
      quantityText(line.endValueNanos, ','),
      quantityText(line.consumptionNanos, ','),
      line.unit,
      line.quality,
      String(line.revision),
      header.kind,
      header.corrects?.batchId ?? '',
    ].map(csvField).join(';'));
  }
  return rows.join(CRLF) + CRLF;
}

const XML_SPECIAL = /[&<>"\r\n\t]/;
const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\r': '&#13;', '\n': '&#10;', '\t': '&#9;' };

function xmlAttr(text: string): string {
  return XML_SPECIAL.test(text) ? text.replace(/[&<>"\r\n\t]/g, (char) => XML_ESCAPES[char]!) : text;
}

/** Sums per unit, in unit order, for totals. */
export function consumptionTotals(lines: readonly MeterLine[]): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const line of lines) totals.set(line.unit, (totals.get(line.unit) ?? 0n) + line.consumptionNanos);
  return new Map([...totals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The 1C XML file of a batch; `encoding` goes into the XML declaration. */
export function renderOneCXml(header: BatchHeader, lines: readonly MeterLine[], encoding: FileEncoding): string {
  const out = [
    `<?xml version="1.0" encoding="${encoding === 'utf-8' ? 'UTF-8' : 'windows-1251'}"?>`,
    `<ВыгрузкаПоказаний Версия="1" Пакет="${xmlAttr(header.batchId)}" Организация="${xmlAttr(header.organisationId)}" ` +
      `Период="${header.period}" Вид="${header.kind}" Номер="${header.sequence}" ` +
      `Исправляет="${xmlAttr(header.corrects?.batchId ?? '')}" Сформирован="${new Date(header.createdAt).toISOString()}">`,
  ];
  const byAccount = new Map<string, MeterLine[]>();
  for (const line of lines) {
    const list = byAccount.get(line.accountNumber) ?? [];
    list.push(line);
    byAccount.set(line.accountNumber, list);
  }
  for (const [account, accountLines] of byAccount) {
    const address = accountLines[0]?.address ?? '';
    out.push(`  <ЛицевойСчет Номер="${xmlAttr(account)}" Адрес="${xmlAttr(address)}">`);
    for (const line of accountLines) {
      out.push(
        `    <Показание Регистр="${xmlAttr(line.registerId)}" ЗаводскойНомер="${xmlAttr(line.meterSerial)}" ` +
          `Начало="${quantityText(line.startValueNanos, '.')}" Конец="${quantityText(line.endValueNanos, '.')}" ` +
          `Расход="${quantityText(line.consumptionNanos, '.')}" Единица="${xmlAttr(line.unit)}" ` +
          `Качество="${line.quality}" Ревизия="${line.revision}"/>`,
      );
    }
    out.push('  </ЛицевойСчет>');
  }
  out.push(`  <Итоги Строк="${lines.length}" Счетов="${byAccount.size}">`);
  for (const [unit, total] of consumptionTotals(lines)) {
    out.push(`    <Расход Единица="${xmlAttr(unit)}" Всего="${quantityText(total, '.')}"/>`);
  }
  out.push('  </Итоги>', '</ВыгрузкаПоказаний>');
  return out.join(CRLF) + CRLF;
}

/** Left-aligned text padded with spaces to `width` characters. */
const LINE_BREAK = /[\r\n]/;

function text(value: string, width: number, field: string): string {
  if (LINE_BREAK.test(value)) throw new LayoutError(`${field}: line breaks cannot appear in a fixed-width field, got "${value}"`);
  if (value.length > width) throw new LayoutError(`${field}: expected at most ${width} characters, got ${value.length} ("${value}")`);
  return value.padEnd(width, ' ');
}

/** Unsigned integer, zero-padded to `width` digits. */
function digits(value: number, width: number, field: string): string {
  const shown = String(value);
  if (!Number.isSafeInteger(value) || value < 0 || shown.length > width) {
    throw new LayoutError(`${field}: expected an integer of at most ${width} digits, got ${value}`);
  }
  return shown.padStart(width, '0');
}

/** Sign, `whole` zero-padded integer digits, `.`, `scale` fraction digits: `+000000001234.56`. */
function signed(value: bigint, scale: number, whole: number, field: string): string {
  const magnitude = (value < 0n ? -value : value).toString().padStart(scale + 1, '0');
  const integer = magnitude.slice(0, magnitude.length - scale);
  if (integer.length > whole) throw new LayoutError(`${field}: expected at most ${whole} integer digits, got ${formatScaled(value, scale)}`);
  return `${value < 0n ? '-' : '+'}${integer.padStart(whole, '0')}.${magnitude.slice(magnitude.length - scale)}`;
}

function compactUtc(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

const KIND_CODES: Readonly<Record<BatchKind, string>> = { initial: 'I', supplement: 'S', correction: 'C' };

/** The ERIP fixed-layout file of a batch. */
export function renderErip(header: BatchHeader, lines: readonly PaymentLine[]): string {
  const period = header.period.replace('-', '');
  const out = [
    'H' + '01' + text(header.organisationId, 36, 'organisation') + period + digits(header.sequence, 6, 'sequence') +
      KIND_CODES[header.kind] + digits(header.corrects?.sequence ?? 0, 6, 'corrected sequence') +
      compactUtc(header.createdAt) + digits(lines.length, 8, 'detail count'),
  ];
  const totals = new Map<string, { count: number; amount: bigint; adjustment: bigint }>();
  lines.forEach((line, index) => {
    const adjustment = line.amountMinor - line.previousAmountMinor;
    out.push(
      'D' + digits(index + 1, 8, 'line number') + text(line.accountNumber, 30, 'account') + period +
        text(line.resource.toUpperCase(), 12, 'service') + signed(line.quantityMilli, 3, 12, 'quantity') +
        text(line.tariffUnit, 6, 'unit') + signed(line.amountMinor, MONEY_SCALE, 12, 'amount') +
        signed(line.previousAmountMinor, MONEY_SCALE, 12, 'previous amount') +
        signed(adjustment, MONEY_SCALE, 12, 'adjustment') + text(line.currency, 3, 'currency'),
    );
    const total = totals.get(line.currency) ?? { count: 0, amount: 0n, adjustment: 0n };
    totals.set(line.currency, { count: total.count + 1, amount: total.amount + line.amountMinor, adjustment: total.adjustment + adjustment });
  });
  for (const [currency, total] of [...totals].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push('T' + text(currency, 3, 'currency') + digits(total.count, 8, 'count') +
      signed(total.amount, MONEY_SCALE, 12, 'total amount') + signed(total.adjustment, MONEY_SCALE, 12, 'total adjustment'));
  }
  return out.join(CRLF) + CRLF;
}

/**
 * The file's bytes. Windows-1251 has no code for some characters (e.g. CJK, emoji); they become
 * `?` (two for a character outside the Basic Multilingual Plane), as iconv does. Neither encoding gets a byte order mark.
 */
export function encodeText(textValue: string, encoding: FileEncoding): Buffer {
  return encoding === 'utf-8' ? Buffer.from(textValue, 'utf8') : iconv.encode(textValue, 'win1251');
}

/** The file name of a batch: `{organisation}_{YYYY-MM}_{format}_{sequence:000}.{csv|xml|txt}`, unsafe characters as `_`. */
export function fileNameOf(header: Pick<BatchHeader, 'organisationId' | 'period' | 'format' | 'sequence'>): string {
  const extension = header.format === '1c-csv' ? 'csv' : header.format === '1c-xml' ? 'xml' : 'txt';
  const organisation = header.organisationId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${organisation}_${header.period}_${header.format}_${String(header.sequence).padStart(3, '0')}.${extension}`;
}
