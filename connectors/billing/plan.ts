/**
 * The batching decisions, pure: from what the ledger and the registry hold about one local month,
 * which batches to produce now and which problems hold what back. The exporter loads a
 * {@link PeriodSnapshot}, calls {@link planPeriod}, and writes the plan in one transaction.
 *
 * Rules (README.md, "When a batch is produced"):
 * - An account is ready when every register mapped to it for the month has a FINAL or RESTATED
 *   monthly record. An organisation's month is exported when all its accounts are ready, or when
 *   no record of the month changed for `settleMs` (stragglers then follow in a supplement batch).
 * - A register line is exported once per format and revision; a higher revision of an exported
 *   line goes into a correction batch that references the batch holding the previous revision.
 * - A problem holds back only what it affects: a register without an account (every format), an
 *   account-resource without a resource or a usable tariff (its ERIP request only).
 */
import { amountMinor, divideHalfUp, QUANTITY_SCALE, unitRatio } from './decimal.js';
import { BILLING_FORMATS, type BatchKind, type BillingFormat, type MeterLine, type PaymentLine } from './formats.js';
import { resolveTariff, type Tariff } from './tariffs.js';

/** A register's monthly record as the connector stored it from `consumption.monthly.v1`. */
export interface ConsumptionRow {
  readonly registerId: string;
  readonly periodStartAt: number;
  readonly localPeriod: string;
  readonly deviceId: string;
  readonly organisationId: string | null;
  readonly status: 'PROVISIONAL' | 'FINAL' | 'RESTATED';
  readonly revision: number;
  readonly startValueNanos: bigint;
  readonly endValueNanos: bigint | null;
  readonly deltaNanos: bigint | null;
  readonly unit: string;
  readonly quality: string;
  /** When the connector stored this revision, epoch ms. */
  readonly receivedAt: number;
}

/** One register mapped to one account for the month, with the register's record if any. */
export interface AccountRegister {
  readonly accountId: string;
  readonly accountNumber: string;
  readonly address: string | null;
  readonly organisationId: string;
  readonly tariffGroup: string;
  readonly registerId: string;
  /** `gas`, `electricity`, `heat`, `water`; null when the mapping does not say. */
  readonly resource: string | null;
  readonly consumption: ConsumptionRow | null;
  /** The meter's serial number from the registry; null when unknown (the device id is used). */
  readonly meterSerial: string | null;
}

/** The newest exported line of a register in a format. */
export interface ExportedLine {
  readonly revision: number;
  readonly batchId: string;
  readonly sequence: number;
}

/** Everything {@link planPeriod} decides on, for one local month. */
export interface PeriodSnapshot {
  readonly period: string;
  readonly now: number;
  readonly settleMs: number;
  readonly mappings: readonly AccountRegister[];
  /** FINAL or RESTATED records of registers that no account holds for the month. */
  readonly orphans: readonly ConsumptionRow[];
  /** Keyed `{format}|{registerId}`. */
  readonly exported: ReadonlyMap<string, ExportedLine>;
  /** Tariffs of the organisations in `mappings`. */
  readonly tariffs: readonly Tariff[];
  /** What the newest ERIP batch billed, keyed `{accountId}|{resource}`, minor units. */
  readonly billed: ReadonlyMap<string, bigint>;
  /** Highest batch sequence so far, keyed `{organisationId}|{format}`; absent when none. */
  readonly sequences: ReadonlyMap<string, number>;
}

/** A register-revision a batch exports; the ledger's unique key makes each one exportable once per format. */
export interface Claim {
  readonly registerId: string;
  readonly periodStartAt: number;
  readonly revision: number;
  readonly accountId: string;
}

/** A batch to produce. */
export interface PlannedBatch {
  readonly organisationId: string;
  readonly period: string;
  readonly format: BillingFormat;
  readonly kind: BatchKind;
  readonly sequence: number;
  readonly corrects: { readonly batchId: string; readonly sequence: number } | null;
  /** Rows of a 1C batch (empty for ERIP). */
  readonly meterLines: readonly MeterLine[];
  /** Requests of an ERIP batch (empty for 1C). */
  readonly paymentLines: readonly PaymentLine[];
  readonly claims: readonly Claim[];
  /** ERIP: what this batch bills per account and resource, for the next correction's previous amount. */
  readonly billed: ReadonlyArray<{ readonly accountId: string; readonly resource: string; readonly amountMinor: bigint; readonly currency: string }>;
}

/** Stable codes of what holds an export back. */
export type ProblemReason =
  | 'REGISTER_WITHOUT_ACCOUNT'
  | 'REGISTER_WITHOUT_RESOURCE'
  | 'ACCOUNT_WITHOUT_TARIFF'
  | 'TARIFF_GAP'
  | 'TARIFF_OVERLAP'
  | 'TARIFF_INCONSISTENT'
  | 'TARIFF_UNIT_MISMATCH'
  /** A value does not fit the file layout (e.g. an ERIP account number over 30 characters): the whole batch is held back. */
  | 'FILE_LAYOUT';

/** Something held back, and why. */
export interface Problem {
  /** Deterministic: `{reason}|{subject}|{period}`, so a problem seen again is the same row. */
  readonly id: string;
  readonly reason: ProblemReason;
  readonly period: string;
  readonly organisationId: string | null;
  readonly accountId: string | null;
  readonly registerId: string | null;
  readonly deviceId: string | null;
  readonly resource: string | null;
  /** The formats it holds back. */
  readonly formats: readonly BillingFormat[];
  readonly message: string;
}

/** The decisions for one month. */
export interface PeriodPlan {
  readonly batches: readonly PlannedBatch[];
  readonly problems: readonly Problem[];
  /** True while something of the month is not exported yet (waiting, held back or planned now). */
  readonly outstanding: boolean;
}

const BILLABLE = new Set(['FINAL', 'RESTATED']);

function billable(row: ConsumptionRow | null): row is ConsumptionRow & { endValueNanos: bigint; deltaNanos: bigint } {
  return row !== null && BILLABLE.has(row.status) && row.deltaNanos !== null && row.endValueNanos !== null;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const list = groups.get(key);
    if (list) list.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

function meterLine(row: AccountRegister, consumption: ConsumptionRow & { endValueNanos: bigint; deltaNanos: bigint }): MeterLine {
  return {
    accountNumber: row.accountNumber,
    address: row.address,
    meterSerial: row.meterSerial ?? consumption.deviceId,
    registerId: row.registerId,
    startValueNanos: consumption.startValueNanos,
    endValueNanos: consumption.endValueNanos,
    consumptionNanos: consumption.deltaNanos,
    unit: consumption.unit,
    quality: consumption.quality,
    revision: consumption.revision,
  };
}

/** Decides the batches and problems of one month; see the module comment for the rules. */
export function planPeriod(snapshot: PeriodSnapshot): PeriodPlan {
  const { period } = snapshot;
  const problems: Problem[] = [];
  const batches: PlannedBatch[] = [];
  let outstanding = false;
  const sequences = new Map(snapshot.sequences);
  const nextSequence = (organisationId: string, format: BillingFormat): number => {
    const key = `${organisationId}|${format}`;
    const next = (sequences.get(key) ?? 0) + 1;
    sequences.set(key, next);
    return next;
  };

  for (const orphan of snapshot.orphans) {
    outstanding = true;
    problems.push({
      id: `REGISTER_WITHOUT_ACCOUNT|${orphan.registerId}|${period}`,
      reason: 'REGISTER_WITHOUT_ACCOUNT',
      period,
      organisationId: orphan.organisationId,
      accountId: null,
      registerId: orphan.registerId,
      deviceId: orphan.deviceId,
      resource: null,
      formats: BILLING_FORMATS,
      message: `register ${orphan.registerId} has ${orphan.status} consumption for ${period} but no billing account holds it in that month`,
    });
  }

  const tariffsOf = groupBy(snapshot.tariffs, (t) => `${t.organisationId}|${t.tariffGroup}|${t.resource}`);
  // Accounts share tariffs and units: resolve each once per month, not once per account.
  const resolutions = new Map<string, ReturnType<typeof resolveTariff>>();
  const ratios = new Map<string, ReturnType<typeof unitRatio>>();
  const ratioOf = (from: string, to: string) => {
    const key = `${from}|${to}`;
    if (!ratios.has(key)) ratios.set(key, unitRatio(from, to));
    return ratios.get(key);
  };

  for (const [organisationId, orgRows] of [...groupBy(snapshot.mappings, (m) => m.organisationId)].sort(([a], [b]) => compare(a, b))) {
    const accounts = groupBy(orgRows, (m) => m.accountId);
    const ready = new Map<string, AccountRegister[]>();
    for (const [accountId, rows] of accounts) if (rows.every((r) => billable(r.consumption))) ready.set(accountId, rows);
    if (ready.size < accounts.size) outstanding = true;
    // A loop, not Math.max(...rows): an organisation can have more registers than a call has arguments.
    let lastChange = 0;
    for (const row of orgRows) lastChange = Math.max(lastChange, row.consumption?.receivedAt ?? 0);
    const settled = ready.size === accounts.size || snapshot.now - lastChange >= snapshot.settleMs;
    const readyRows = [...ready.values()].flat().sort((a, b) => compare(a.accountNumber, b.accountNumber) || compare(a.registerId, b.registerId));

    const dirty = (format: BillingFormat, row: AccountRegister): boolean => {
      const done = snapshot.exported.get(`${format}|${row.registerId}`);
      return done === undefined || done.revision < row.consumption!.revision;
    };
    const claim = (row: AccountRegister): Claim => ({
      registerId: row.registerId,
      periodStartAt: row.consumption!.periodStartAt,
      revision: row.consumption!.revision,
      accountId: row.accountId,
    });

    // Lines of one format, split into new ones and corrections of each earlier batch.
    interface Pending<L> { lines: L[]; claims: Claim[]; billed: PlannedBatch['billed'][number][] }
    const split = <L>() => ({
      fresh: { lines: [], claims: [], billed: [] } as Pending<L>,
      corrections: new Map<string, Pending<L> & { sequence: number }>(),
    });
    const emit = <L>(format: BillingFormat, parts: ReturnType<typeof split<L>>, toBatch: (lines: L[]) => Pick<PlannedBatch, 'meterLines' | 'paymentLines'>) => {
      if (parts.fresh.lines.length > 0) {
        const hasEarlier = sequences.has(`${organisationId}|${format}`);
        batches.push({
          organisationId, period, format, kind: hasEarlier ? 'supplement' : 'initial', sequence: nextSequence(organisationId, format),
          corrects: null, claims: parts.fresh.claims, billed: parts.fresh.billed, ...toBatch(parts.fresh.lines),
        });
      }
      for (const [batchId, part] of [...parts.corrections].sort(([, a], [, b]) => a.sequence - b.sequence)) {
        batches.push({
          organisationId, period, format, kind: 'correction', sequence: nextSequence(organisationId, format),
          corrects: { batchId, sequence: part.sequence }, claims: part.claims, billed: part.billed, ...toBatch(part.lines),
        });
      }
    };

    for (const format of ['1c-csv', '1c-xml'] as const) {
      const parts = split<MeterLine>();
      for (const row of readyRows) {
        if (!dirty(format, row)) continue;
        outstanding = true;
        if (!settled) continue;
        const previous = snapshot.exported.get(`${format}|${row.registerId}`);
        const target = previous === undefined
          ? parts.fresh
          : (parts.corrections.get(previous.batchId) ??
            parts.corrections.set(previous.batchId, { lines: [], claims: [], billed: [], sequence: previous.sequence }).get(previous.batchId)!);
        target.lines.push(meterLine(row, row.consumption as ConsumptionRow & { endValueNanos: bigint; deltaNanos: bigint }));
        target.claims.push(claim(row));
      }
      emit(format, parts, (lines) => ({ meterLines: lines, paymentLines: [] }));
    }

    const erip = split<PaymentLine>();
    const groups = groupBy(readyRows, (r) => `${r.accountId}|${r.resource ?? ''}`);
    for (const rows of groups.values()) {
      const changed = rows.filter((r) => dirty('erip', r));
      if (changed.length === 0) continue;
      outstanding = true;
      const first = rows[0]!;
      const problem = (reason: ProblemReason, message: string): void => {
        problems.push({
          id: `${reason}|${first.accountId}|${first.resource ?? ''}|${period}`,
          reason, period, organisationId, accountId: first.accountId, registerId: first.resource === null ? first.registerId : null,
          deviceId: first.consumption!.deviceId, resource: first.resource, formats: ['erip'], message,
        });
      };
      if (first.resource === null) {
        problem('REGISTER_WITHOUT_RESOURCE', `account ${first.accountNumber}: the mapping of register ${first.registerId} names no resource, so no tariff can price it`);
        continue;
      }
      const tariffKey = `${organisationId}|${first.tariffGroup}|${first.resource}`;
      let tariff = resolutions.get(tariffKey);
      if (tariff === undefined) {
        tariff = resolveTariff(tariffsOf.get(tariffKey) ?? [], period, `${first.resource} (organisation ${organisationId}, tariff group ${first.tariffGroup})`);
        resolutions.set(tariffKey, tariff);
      }
      const what = `${first.resource} for account ${first.accountNumber}`;
      if (!tariff.ok) {
        problem(tariff.reason, `account ${first.accountNumber}: ${tariff.message}`);
        continue;
      }
      let quantityNumerator = 0n;
      let quantityDenominator = 1n;
      let mismatch: string | undefined;
      for (const row of rows) {
        const ratio = ratioOf(row.consumption!.unit, tariff.unit);
        if (ratio === undefined) {
          mismatch = `register ${row.registerId} counts ${row.consumption!.unit}, the tariff for ${what} is priced per ${tariff.unit}`;
          break;
        }
        quantityNumerator = quantityNumerator * ratio.denominator + row.consumption!.deltaNanos! * ratio.numerator * quantityDenominator;
        quantityDenominator *= ratio.denominator;
      }
      if (mismatch !== undefined) {
        problem('TARIFF_UNIT_MISMATCH', mismatch);
        continue;
      }
      if (!settled) continue;
      // The request's registers are priced together, so one rounding covers the whole request.
      const amount = amountMinor(quantityNumerator, { numerator: 1n, denominator: quantityDenominator }, tariff.segments, tariff.totalDays);
      const quantityMilli = divideHalfUp(quantityNumerator, quantityDenominator * 10n ** BigInt(QUANTITY_SCALE - 3));
      const billedKey = `${first.accountId}|${first.resource}`;
      const previousExports = rows.map((r) => snapshot.exported.get(`erip|${r.registerId}`)).filter((e) => e !== undefined);
      const corrected = previousExports.sort((a, b) => b.sequence - a.sequence)[0];
      const target = corrected === undefined
        ? erip.fresh
        : (erip.corrections.get(corrected.batchId) ??
          erip.corrections.set(corrected.batchId, { lines: [], claims: [], billed: [], sequence: corrected.sequence }).get(corrected.batchId)!);
      target.lines.push({
        accountNumber: first.accountNumber,
        resource: first.resource,
        quantityMilli,
        tariffUnit: tariff.unit,
        amountMinor: amount,
        previousAmountMinor: corrected === undefined ? 0n : (snapshot.billed.get(billedKey) ?? 0n),
        currency: tariff.currency,
      });
      target.claims.push(...changed.map(claim));
      target.billed.push({ accountId: first.accountId, resource: first.resource, amountMinor: amount, currency: tariff.currency });
    }
    emit('erip', erip, (lines) => ({ meterLines: [], paymentLines: lines }));
  }
  return { batches, problems, outstanding };
}
