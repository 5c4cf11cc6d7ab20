/**
 * The billing connector's PostgreSQL side (migration 0008): the monthly consumption it received,
 * the snapshot a month's plan is made from, the export ledger and the problems. Every query is
 * limited to a `scope` — an id prefix of organisations and registers, empty in production — so
 * tests sharing the database never see each other's rows.
 */
import type { Pool, PoolClient } from 'pg';
import type { Consumption } from '../../schemas/avro/index.js';
import { formatScaled, MONEY_SCALE, parseScaled, PRICE_SCALE, QUANTITY_SCALE } from './decimal.js';
import type { BatchKind, BillingFormat, FileEncoding } from './formats.js';
import type { AccountRegister, ConsumptionRow, ExportedLine, PeriodSnapshot, PlannedBatch, Problem } from './plan.js';
import { periodDays, type Tariff } from './tariffs.js';

/** A `LIKE` pattern matching ids that start with `scope`. */
export function scopePattern(scope: string): string {
  return `${scope.replace(/[\\%_]/g, '\\$&')}%`;
}

const nanos = (text: string | null): bigint | null => (text === null ? null : parseScaled(text, QUANTITY_SCALE));

/** Keeps the highest revision of each key, so one statement never updates a row twice. */
function newestByKey(records: readonly Consumption[]): Consumption[] {
  const newest = new Map<string, Consumption>();
  for (const record of records) {
    const key = `${record.registerId}|${record.periodStartAt}`;
    const held = newest.get(key);
    if (held === undefined || held.revision < record.revision) newest.set(key, record);
  }
  return [...newest.values()];
}

/**
 * Stores monthly records, keeping per register and period only the highest revision (a replayed or
 * older record changes nothing). Returns how many rows changed.
 */
export async function upsertConsumption(db: Pool | PoolClient, records: readonly Consumption[]): Promise<number> {
  const rows = newestByKey(records);
  if (rows.length === 0) return 0;
  const column = <T>(pick: (r: Consumption) => T): T[] => rows.map(pick);
  const result = await db.query(
    `INSERT INTO billing_consumption (register_id, period_start_at, period_end_at, local_period, device_id, register_key,
       organisation_id, status, revision, start_value, end_value, delta, unit, quality, computed_at)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[],
       $8::text[], $9::bigint[], $10::numeric[], $11::numeric[], $12::numeric[], $13::text[], $14::text[], $15::timestamptz[])
     ON CONFLICT (register_id, period_start_at) DO UPDATE SET
       period_end_at = EXCLUDED.period_end_at, local_period = EXCLUDED.local_period, device_id = EXCLUDED.device_id,
       register_key = EXCLUDED.register_key, organisation_id = EXCLUDED.organisation_id, status = EXCLUDED.status,
       revision = EXCLUDED.revision, start_value = EXCLUDED.start_value, end_value = EXCLUDED.end_value, delta = EXCLUDED.delta,
       unit = EXCLUDED.unit, quality = EXCLUDED.quality, computed_at = EXCLUDED.computed_at, received_at = now()
     WHERE billing_consumption.revision < EXCLUDED.revision`,
    [
      column((r) => r.registerId), column((r) => new Date(r.periodStartAt)), column((r) => new Date(r.periodEndAt)),
      column((r) => r.localPeriod), column((r) => r.deviceId), column((r) => r.registerKey), column((r) => r.organisationId),
      column((r) => r.status), column((r) => String(r.revision)), column((r) => r.startValue), column((r) => r.endValue),
      column((r) => r.delta), column((r) => r.unit), column((r) => r.quality), column((r) => new Date(r.computedAt)),
    ],
  );
  return result.rowCount ?? 0;
}

/** Months with FINAL or RESTATED records in scope (by register id, or by the organisation of the register's account), and when the newest of their records arrived. */
export async function billablePeriods(db: Pool | PoolClient, scope: string): Promise<Array<{ period: string; changedAt: number }>> {
  const { rows } = await db.query<{ local_period: string; changed_at: Date }>(
    // A register is in scope by its id or by its account's organisation: registers named by their
    // devices (`mbus:…/volume`) belong to the scope of the organisation billing them.
    `SELECT c.local_period, max(c.received_at) AS changed_at FROM billing_consumption c
     WHERE c.status IN ('FINAL', 'RESTATED')
       AND (c.register_id LIKE $1 OR EXISTS (SELECT 1 FROM billing_account_registers bar JOIN billing_accounts a ON a.id = bar.billing_account_id
                                            WHERE bar.register_id = c.register_id AND a.organisation_id LIKE $1))
     GROUP BY c.local_period ORDER BY c.local_period`,
    [scopePattern(scope)],
  );
  return rows.map((r) => ({ period: r.local_period, changedAt: r.changed_at.getTime() }));
}

interface ConsumptionColumns {
  register_id: string;
  period_start_at: Date | null;
  local_period: string | null;
  device_id: string | null;
  c_organisation_id: string | null;
  status: ConsumptionRow['status'] | null;
  revision: string | null;
  start_value: string | null;
  end_value: string | null;
  delta: string | null;
  unit: string | null;
  quality: string | null;
  received_at: Date | null;
}

const CONSUMPTION_COLUMNS = `c.period_start_at, c.local_period, c.device_id, c.organisation_id AS c_organisation_id, c.status,
  c.revision::text, c.start_value::text, c.end_value::text, c.delta::text, c.unit, c.quality, c.received_at`;

function consumptionOf(row: ConsumptionColumns): ConsumptionRow | null {
  if (row.period_start_at === null || row.status === null) return null;
  return {
    registerId: row.register_id,
    periodStartAt: row.period_start_at.getTime(),
    localPeriod: row.local_period!,
    deviceId: row.device_id!,
    organisationId: row.c_organisation_id,
    status: row.status,
    revision: Number(row.revision),
    startValueNanos: nanos(row.start_value)!,
    endValueNanos: nanos(row.end_value),
    deltaNanos: nanos(row.delta),
    unit: row.unit!,
    quality: row.quality!,
    receivedAt: row.received_at!.getTime(),
  };
}

/** Everything {@link planPeriod} needs about one local month, read in one repeatable-read snapshot. */
export async function loadSnapshot(
  client: PoolClient,
  options: { readonly scope: string; readonly period: string; readonly now: number; readonly settleMs: number },
): Promise<PeriodSnapshot> {
  const { period } = options;
  const scope = scopePattern(options.scope);
  const { first, next } = periodDays(period);
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const mappings = await client.query<ConsumptionColumns & {
      account_id: string; account_number: string; address: string | null; organisation_id: string; tariff_group: string;
      resource: string | null; serial_number: string | null;
    }>(
      `WITH m AS (
         SELECT DISTINCT ON (bar.register_id) bar.register_id, bar.billing_account_id, bar.resource
         FROM billing_account_registers bar JOIN billing_accounts a ON a.id = bar.billing_account_id
         WHERE a.organisation_id LIKE $1 AND bar.valid_from < $3::date AND (bar.valid_to IS NULL OR bar.valid_to > $2::date)
         ORDER BY bar.register_id, bar.valid_from DESC)
       SELECT a.id AS account_id, a.account_number, a.address, a.organisation_id, a.tariff_group, m.register_id, m.resource,
              d.serial_number, ${CONSUMPTION_COLUMNS}
       FROM m JOIN billing_accounts a ON a.id = m.billing_account_id
       LEFT JOIN billing_consumption c ON c.register_id = m.register_id AND c.local_period = $4
       LEFT JOIN devices d ON d.id = c.device_id`,
      [scope, first, next, period],
    );
    const orphans = await client.query<ConsumptionColumns>(
      `SELECT c.register_id, ${CONSUMPTION_COLUMNS} FROM billing_consumption c
       WHERE c.local_period = $2 AND c.register_id LIKE $1 AND c.status IN ('FINAL', 'RESTATED')
         AND NOT EXISTS (SELECT 1 FROM billing_account_registers bar
                         WHERE bar.register_id = c.register_id AND bar.valid_from < $4::date AND (bar.valid_to IS NULL OR bar.valid_to > $3::date))
       ORDER BY c.register_id`,
      [scope, period, first, next],
    );
    const exported = await client.query<{ format: BillingFormat; register_id: string; revision: string; batch_id: string; sequence: number }>(
      `SELECT DISTINCT ON (l.format, l.register_id) l.format, l.register_id, l.revision::text, l.batch_id, b.sequence
       FROM export_batch_lines l JOIN export_batches b ON b.id = l.batch_id
       WHERE l.period = $1 AND b.organisation_id LIKE $2
       ORDER BY l.format, l.register_id, l.revision DESC`,
      [period, scope],
    );
    const tariffs = await client.query<{
      id: string; organisation_id: string; tariff_group: string; resource: string; price_per_unit: string; unit: string; currency: string;
      valid_from: string; valid_to: string | null;
    }>(
      `SELECT id, organisation_id, tariff_group, resource, price_per_unit::text, unit, currency,
              to_char(valid_from, 'YYYY-MM-DD') AS valid_from, to_char(valid_to, 'YYYY-MM-DD') AS valid_to
       FROM tariffs WHERE organisation_id LIKE $1 AND valid_from < $3::date AND (valid_to IS NULL OR valid_to > $2::date)`,
      [scope, first, next],
    );
    const billed = await client.query<{ billing_account_id: string; resource: string; amount: string }>(
      `SELECT DISTINCT ON (ba.billing_account_id, ba.resource) ba.billing_account_id, ba.resource, ba.amount::text
       FROM export_billed_amounts ba JOIN export_batches b ON b.id = ba.batch_id
       WHERE ba.period = $1 AND b.organisation_id LIKE $2
       ORDER BY ba.billing_account_id, ba.resource, b.sequence DESC`,
      [period, scope],
    );
    const sequences = await client.query<{ organisation_id: string; format: BillingFormat; sequence: number }>(
      `SELECT organisation_id, format, max(sequence) AS sequence FROM export_batches
       WHERE period = $1 AND organisation_id LIKE $2 GROUP BY organisation_id, format`,
      [period, scope],
    );
    await client.query('COMMIT');
    return {
      period,
      now: options.now,
      settleMs: options.settleMs,
      mappings: mappings.rows.map((r): AccountRegister => ({
        accountId: r.account_id,
        accountNumber: r.account_number,
        address: r.address,
        organisationId: r.organisation_id,
        tariffGroup: r.tariff_group,
        registerId: r.register_id,
        resource: r.resource,
        consumption: consumptionOf(r),
        meterSerial: r.serial_number,
      })),
      orphans: orphans.rows.map((r) => consumptionOf(r)!),
      exported: new Map(exported.rows.map((r): [string, ExportedLine] => [`${r.format}|${r.register_id}`, { revision: Number(r.revision), batchId: r.batch_id, sequence: r.sequence }])),
      tariffs: tariffs.rows.map((r): Tariff => ({
        id: r.id,
        organisationId: r.organisation_id,
        tariffGroup: r.tariff_group,
        resource: r.resource,
        priceMicros: parseScaled(r.price_per_unit, PRICE_SCALE),
        unit: r.unit,
        currency: r.currency.trim(),
        validFrom: r.valid_from,
        validTo: r.valid_to,
      })),
      billed: new Map(billed.rows.map((r) => [`${r.billing_account_id}|${r.resource}`, parseScaled(r.amount, MONEY_SCALE)])),
      sequences: new Map(sequences.rows.map((r) => [`${r.organisation_id}|${r.format}`, Number(r.sequence)])),
    };
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/** A planned batch with its rendered file, ready to be recorded as pending. */
export interface RenderedBatch {
  readonly id: string;
  readonly plan: PlannedBatch;
  readonly encoding: FileEncoding;
  readonly fileName: string;
  readonly content: Buffer;
  readonly checksumSha256: string;
  readonly createdAt: number;
  readonly lineCount: number;
  readonly accountCount: number;
  readonly consumptionTotals: Readonly<Record<string, string>>;
  readonly amountTotals: Readonly<Record<string, string>>;
}

/** Thrown when a batch's register-revision was exported meanwhile (another exporter won the race). */
export class AlreadyExportedError extends Error {
  override readonly name = 'AlreadyExportedError';
}

/**
 * Records the batches as pending — ledger row, file, claimed register-revisions, billed amounts —
 * together with the month's problems, in one transaction: either the whole plan is on record or
 * none of it. A claim that is already taken rolls everything back ({@link AlreadyExportedError}).
 */
export async function recordPlan(
  client: PoolClient,
  options: { readonly scope: string; readonly period: string; readonly batches: readonly RenderedBatch[]; readonly problems: readonly Problem[] },
): Promise<void> {
  const { period, batches, problems } = options;
  await client.query('BEGIN');
  try {
    for (const batch of batches) {
      const { plan } = batch;
      await client.query(
        `INSERT INTO export_batches (id, organisation_id, period, format, corrects_batch_id, checksum_sha256, state, created_at,
           kind, sequence, encoding, file_name, byte_count, line_count, account_count, consumption_totals, amount_totals)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
        [batch.id, plan.organisationId, plan.period, plan.format, plan.corrects?.batchId ?? null, batch.checksumSha256, new Date(batch.createdAt),
          plan.kind, plan.sequence, batch.encoding, batch.fileName, batch.content.length, batch.lineCount, batch.accountCount,
          batch.consumptionTotals, batch.amountTotals],
      );
      await client.query('INSERT INTO export_batch_files (batch_id, content) VALUES ($1, $2)', [batch.id, batch.content]);
      const claims = plan.claims;
      const inserted = await client.query(
        `INSERT INTO export_batch_lines (batch_id, format, period, register_id, period_start_at, revision, billing_account_id)
         SELECT $1, $2, $3, * FROM unnest($4::text[], $5::timestamptz[], $6::bigint[], $7::text[])
         ON CONFLICT (format, register_id, period_start_at, revision) DO NOTHING`,
        [batch.id, plan.format, plan.period, claims.map((c) => c.registerId), claims.map((c) => new Date(c.periodStartAt)),
          claims.map((c) => String(c.revision)), claims.map((c) => c.accountId)],
      );
      if (inserted.rowCount !== claims.length) {
        throw new AlreadyExportedError(`batch ${batch.id}: ${claims.length - (inserted.rowCount ?? 0)} of its register-revisions were exported meanwhile`);
      }
      if (plan.billed.length > 0) {
        await client.query(
          `INSERT INTO export_billed_amounts (batch_id, billing_account_id, resource, period, amount, currency)
           SELECT $1, a, r, $2, m, c FROM unnest($3::text[], $4::text[], $5::numeric[], $6::text[]) AS t(a, r, m, c)`,
          [batch.id, plan.period, plan.billed.map((b) => b.accountId), plan.billed.map((b) => b.resource),
            plan.billed.map((b) => formatScaled(b.amountMinor, MONEY_SCALE)), plan.billed.map((b) => b.currency)],
        );
      }
    }
    await recordProblems(client, options.scope, period, problems);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/** Upserts the month's problems; the month's open problems not among them are resolved. */
async function recordProblems(client: PoolClient, scope: string, period: string, problems: readonly Problem[]): Promise<void> {
  if (problems.length > 0) {
    await client.query(
      `INSERT INTO billing_problems (id, reason, period, organisation_id, billing_account_id, register_id, device_id, resource, formats, message)
       SELECT id, reason, $1, org, acc, reg, dev, res, string_to_array(fmts, ','), msg
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
         AS t(id, reason, org, acc, reg, dev, res, fmts, msg)
       ON CONFLICT (id) DO UPDATE SET
         message = EXCLUDED.message, formats = EXCLUDED.formats, last_seen_at = now(), resolved_at = NULL,
         alert_revision = billing_problems.alert_revision + (CASE WHEN billing_problems.resolved_at IS NULL THEN 0 ELSE 1 END)`,
      [period, problems.map((p) => p.id), problems.map((p) => p.reason), problems.map((p) => p.organisationId),
        problems.map((p) => p.accountId), problems.map((p) => p.registerId), problems.map((p) => p.deviceId),
        problems.map((p) => p.resource), problems.map((p) => p.formats.join(',')), problems.map((p) => p.message)],
    );
  }
  await client.query(
    `UPDATE billing_problems SET resolved_at = now(), alert_revision = alert_revision + 1
     WHERE period = $1 AND resolved_at IS NULL AND NOT (id = ANY($2::text[]))
       AND (organisation_id LIKE $3 OR register_id LIKE $3)`,
    [period, problems.map((p) => p.id), scopePattern(scope)],
  );
}

/** Records the month's problems when there is no batch to record with them. */
export async function recordProblemsOnly(client: PoolClient, scope: string, period: string, problems: readonly Problem[]): Promise<void> {
  await client.query('BEGIN');
  try {
    await recordProblems(client, scope, period, problems);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/** A pending batch: recorded, its file not yet confirmed at the destination. */
export interface PendingBatch {
  readonly id: string;
  readonly format: BillingFormat;
  readonly kind: BatchKind;
  readonly fileName: string;
  readonly content: Buffer;
  readonly checksumSha256: string;
}

/** Pending batches in scope, oldest first. */
export async function pendingBatches(db: Pool | PoolClient, scope: string): Promise<PendingBatch[]> {
  const { rows } = await db.query<{ id: string; format: BillingFormat; kind: BatchKind; file_name: string; content: Buffer; checksum_sha256: string }>(
    `SELECT b.id, b.format, b.kind, b.file_name, f.content, b.checksum_sha256 FROM export_batches b JOIN export_batch_files f ON f.batch_id = b.id
     WHERE b.state = 'pending' AND b.organisation_id LIKE $1 ORDER BY b.created_at, b.id`,
    [scopePattern(scope)],
  );
  return rows.map((r) => ({ id: r.id, format: r.format, kind: r.kind, fileName: r.file_name, content: r.content, checksumSha256: r.checksum_sha256 }));
}

/** pending → written; the batch gets its pull cursor now, so the API lists it after everything written before it. */
export async function markWritten(db: Pool | PoolClient, id: string, location: string): Promise<boolean> {
  const result = await db.query(
    `UPDATE export_batches SET state = 'written', location = $2, written_at = now(), attempts = attempts + 1, last_error = NULL,
       pull_cursor = nextval('export_batches_pull_cursor')
     WHERE id = $1 AND state = 'pending'`,
    [id, location],
  );
  return result.rowCount === 1;
}

/** Notes a failed write; the batch stays pending and is tried again. */
export async function markAttemptFailed(db: Pool | PoolClient, id: string, error: string): Promise<void> {
  await db.query(`UPDATE export_batches SET attempts = attempts + 1, last_error = $2 WHERE id = $1 AND state = 'pending'`, [id, error.slice(0, 2000)]);
}

/** A problem whose current state has not been written to alert.v1 yet. */
export interface UnalertedProblem {
  readonly id: string;
  readonly reason: string;
  readonly period: string;
  readonly organisationId: string | null;
  readonly accountId: string | null;
  readonly registerId: string | null;
  readonly deviceId: string | null;
  readonly resource: string | null;
  readonly formats: readonly string[];
  readonly message: string;
  readonly firstSeenAt: number;
  readonly resolvedAt: number | null;
  readonly alertRevision: number;
}

export async function unalertedProblems(db: Pool | PoolClient, scope: string): Promise<UnalertedProblem[]> {
  const { rows } = await db.query<{
    id: string; reason: string; period: string; organisation_id: string | null; billing_account_id: string | null; register_id: string | null;
    device_id: string | null; resource: string | null; formats: string[]; message: string; first_seen_at: Date; resolved_at: Date | null; alert_revision: string;
  }>(
    `SELECT id, reason, period, organisation_id, billing_account_id, register_id, device_id, resource, formats, message, first_seen_at,
            resolved_at, alert_revision::text
     FROM billing_problems WHERE alerted_revision < alert_revision AND (organisation_id LIKE $1 OR register_id LIKE $1)
     ORDER BY first_seen_at LIMIT 1000`,
    [scopePattern(scope)],
  );
  return rows.map((r) => ({
    id: r.id, reason: r.reason, period: r.period, organisationId: r.organisation_id, accountId: r.billing_account_id, registerId: r.register_id,
    deviceId: r.device_id, resource: r.resource, formats: r.formats, message: r.message, firstSeenAt: r.first_seen_at.getTime(),
    resolvedAt: r.resolved_at?.getTime() ?? null, alertRevision: Number(r.alert_revision),
  }));
}

export async function markAlerted(db: Pool | PoolClient, sent: ReadonlyArray<{ id: string; alertRevision: number }>): Promise<void> {
  if (sent.length === 0) return;
  await db.query(
    `UPDATE billing_problems p SET alerted_revision = GREATEST(p.alerted_revision, t.rev)
     FROM unnest($1::text[], $2::bigint[]) AS t(id, rev) WHERE p.id = t.id`,
    [sent.map((s) => s.id), sent.map((s) => String(s.alertRevision))],
  );
}

/** A batch as the pull API shows it. */
export interface BatchView {
  readonly id: string;
  readonly cursor: string | null;
  readonly organisationId: string;
  readonly period: string;
  readonly format: BillingFormat;
  readonly kind: BatchKind;
  readonly sequence: number;
  readonly correctsBatchId: string | null;
  readonly state: 'pending' | 'written' | 'acknowledged' | 'failed';
  readonly encoding: FileEncoding;
  readonly fileName: string;
  readonly location: string | null;
  readonly checksumSha256: string;
  readonly byteCount: number;
  readonly lineCount: number;
  readonly accountCount: number;
  readonly consumptionTotals: Readonly<Record<string, string>>;
  readonly amountTotals: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly writtenAt: string | null;
  readonly acknowledgedAt: string | null;
}

const BATCH_COLUMNS = `id, pull_cursor::text, organisation_id, period, format, kind, sequence, corrects_batch_id, state, encoding, file_name,
  location, checksum_sha256, byte_count::text, line_count, account_count, consumption_totals, amount_totals, created_at, written_at, acknowledged_at`;

interface BatchRow {
  id: string; pull_cursor: string | null; organisation_id: string; period: string; format: BillingFormat; kind: BatchKind; sequence: number;
  corrects_batch_id: string | null; state: BatchView['state']; encoding: FileEncoding; file_name: string; location: string | null;
  checksum_sha256: string; byte_count: string; line_count: number; account_count: number; consumption_totals: Record<string, string>;
  amount_totals: Record<string, string>; created_at: Date; written_at: Date | null; acknowledged_at: Date | null;
}

function batchView(r: BatchRow): BatchView {
  return {
    id: r.id, cursor: r.pull_cursor, organisationId: r.organisation_id, period: r.period, format: r.format, kind: r.kind, sequence: r.sequence,
    correctsBatchId: r.corrects_batch_id, state: r.state, encoding: r.encoding, fileName: r.file_name, location: r.location,
    checksumSha256: r.checksum_sha256, byteCount: Number(r.byte_count), lineCount: r.line_count, accountCount: r.account_count,
    consumptionTotals: r.consumption_totals, amountTotals: r.amount_totals, createdAt: r.created_at.toISOString(),
    writtenAt: r.written_at?.toISOString() ?? null, acknowledgedAt: r.acknowledged_at?.toISOString() ?? null,
  };
}

/** Written (and acknowledged) batches of an organisation after `cursor`, in cursor order. */
export async function listBatches(db: Pool, organisationId: string, after: bigint, limit: number, unacknowledgedOnly: boolean): Promise<BatchView[]> {
  const { rows } = await db.query<BatchRow>(
    `SELECT ${BATCH_COLUMNS} FROM export_batches
     WHERE organisation_id = $1 AND pull_cursor > $2 AND state IN ('written', 'acknowledged') AND ($4::boolean IS FALSE OR state = 'written')
     ORDER BY pull_cursor LIMIT $3`,
    [organisationId, after.toString(), limit, unacknowledgedOnly],
  );
  return rows.map(batchView);
}

/** One batch of an organisation, any state; undefined when it has none by that id. */
export async function getBatch(db: Pool, organisationId: string, id: string): Promise<BatchView | undefined> {
  const { rows } = await db.query<BatchRow>(`SELECT ${BATCH_COLUMNS} FROM export_batches WHERE organisation_id = $1 AND id = $2`, [organisationId, id]);
  return rows[0] === undefined ? undefined : batchView(rows[0]);
}

/** The file of a written or acknowledged batch. */
export async function batchFile(db: Pool, organisationId: string, id: string): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ content: Buffer }>(
    `SELECT f.content FROM export_batch_files f JOIN export_batches b ON b.id = f.batch_id
     WHERE b.organisation_id = $1 AND b.id = $2 AND b.state IN ('written', 'acknowledged')`,
    [organisationId, id],
  );
  return rows[0]?.content;
}

/** written → acknowledged, once; acknowledging again changes nothing. Returns the batch after. */
export async function acknowledgeBatch(db: Pool, organisationId: string, id: string, by: string): Promise<BatchView | undefined> {
  await db.query(
    `UPDATE export_batches SET state = 'acknowledged', acknowledged_at = now(), acknowledged_by = $3
     WHERE organisation_id = $1 AND id = $2 AND state = 'written'`,
    [organisationId, id, by],
  );
  return getBatch(db, organisationId, id);
}

/** A problem as the pull API shows it. */
export interface ProblemView {
  readonly id: string;
  readonly reason: string;
  readonly period: string;
  readonly accountId: string | null;
  readonly registerId: string | null;
  readonly deviceId: string | null;
  readonly resource: string | null;
  readonly formats: readonly string[];
  readonly message: string;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
  readonly resolvedAt: string | null;
}

/** An organisation's problems, open ones only unless `includeResolved`, newest first. */
export async function listProblems(db: Pool, organisationId: string, includeResolved: boolean, limit: number): Promise<ProblemView[]> {
  const { rows } = await db.query<{
    id: string; reason: string; period: string; billing_account_id: string | null; register_id: string | null; device_id: string | null;
    resource: string | null; formats: string[]; message: string; first_seen_at: Date; last_seen_at: Date; resolved_at: Date | null;
  }>(
    `SELECT id, reason, period, billing_account_id, register_id, device_id, resource, formats, message, first_seen_at, last_seen_at, resolved_at
     FROM billing_problems WHERE organisation_id = $1 AND ($2::boolean OR resolved_at IS NULL)
     ORDER BY last_seen_at DESC, id LIMIT $3`,
    [organisationId, includeResolved, limit],
  );
  return rows.map((r) => ({
    id: r.id, reason: r.reason, period: r.period, accountId: r.billing_account_id, registerId: r.register_id, deviceId: r.device_id,
    resource: r.resource, formats: r.formats, message: r.message, firstSeenAt: r.first_seen_at.toISOString(),
    lastSeenAt: r.last_seen_at.toISOString(), resolvedAt: r.resolved_at?.toISOString() ?? null,
  }));
}
