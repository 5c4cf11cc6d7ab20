/**
 * The export run: one at a time per scope (a PostgreSQL advisory lock, so any number of connector
 * instances export each batch once), in three steps:
 *
 * 1. Finish pending batches: write each recorded file to the destination and mark it written.
 *    This is what makes an interrupted export resume without duplicating: the plan, the claimed
 *    register-revisions and the file's bytes were recorded together before anything was written.
 * 2. Evaluate the months that changed (or that wait for something, every `rescanMs`): plan, render,
 *    record the plan with its problems in one transaction, then write the new files as in step 1.
 * 3. Send alerts for problems whose state changed.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { Counter, type Registry } from 'prom-client';
import type { Alert } from '../../schemas/avro/index.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { alertFor } from './alerts.js';
import { formatScaled, MONEY_SCALE, QUANTITY_SCALE } from './decimal.js';
import type { Destination } from './destination.js';
import {
  consumptionTotals, encodeText, fileNameOf, LayoutError, renderErip, renderOneCCsv, renderOneCXml,
  type BatchHeader, type FileEncoding,
} from './formats.js';
import { planPeriod, type PlannedBatch, type Problem } from './plan.js';
import {
  billablePeriods, loadSnapshot, markAlerted, markAttemptFailed, markWritten, pendingBatches, recordPlan, recordProblemsOnly,
  unalertedProblems, type RenderedBatch,
} from './store.js';

/** Advisory-lock class of the exporter (the second key is the scope's hash). */
const LOCK_CLASS = 7_358_208;

/** The id of a batch: `{organisation}:{period}:{format}:{sequence}`. */
export function batchIdOf(plan: Pick<PlannedBatch, 'organisationId' | 'period' | 'format' | 'sequence'>): string {
  return `${plan.organisationId}:${plan.period}:${plan.format}:${plan.sequence}`;
}

/**
 * Renders a planned batch into its file and ledger figures.
 * @throws {LayoutError} when a value does not fit the format (e.g. an ERIP account number over 30 characters).
 */
export function renderBatch(plan: PlannedBatch, encoding: FileEncoding, createdAt: number): RenderedBatch {
  const id = batchIdOf(plan);
  const header: BatchHeader = {
    batchId: id, organisationId: plan.organisationId, period: plan.period, format: plan.format, kind: plan.kind,
    sequence: plan.sequence, corrects: plan.corrects, createdAt,
  };
  const text = plan.format === '1c-csv'
    ? renderOneCCsv(header, plan.meterLines)
    : plan.format === '1c-xml'
      ? renderOneCXml(header, plan.meterLines, encoding)
      : renderErip(header, plan.paymentLines);
  const content = encodeText(text, encoding);
  const consumption: Record<string, string> = {};
  const amounts: Record<string, string> = {};
  if (plan.format === 'erip') {
    const quantities = new Map<string, bigint>();
    const money = new Map<string, bigint>();
    for (const line of plan.paymentLines) {
      quantities.set(line.tariffUnit, (quantities.get(line.tariffUnit) ?? 0n) + line.quantityMilli);
      money.set(line.currency, (money.get(line.currency) ?? 0n) + line.amountMinor);
    }
    for (const [unit, milli] of quantities) consumption[unit] = formatScaled(milli, 3);
    for (const [currency, minor] of money) amounts[currency] = formatScaled(minor, MONEY_SCALE);
  } else {
    for (const [unit, total] of consumptionTotals(plan.meterLines)) consumption[unit] = formatScaled(total, QUANTITY_SCALE);
  }
  const lines = plan.format === 'erip' ? plan.paymentLines : plan.meterLines;
  return {
    id, plan, encoding, content, createdAt,
    fileName: fileNameOf(header),
    checksumSha256: createHash('sha256').update(content).digest('hex'),
    lineCount: lines.length,
    accountCount: new Set(lines.map((l) => l.accountNumber)).size,
    consumptionTotals: consumption,
    amountTotals: amounts,
  };
}

/** Options of {@link createExporter}. */
export interface ExporterOptions {
  readonly pool: Pool;
  readonly destination: Destination;
  readonly encoding: FileEncoding;
  /** A month is exported this long after its last change even if some accounts are not ready. */
  readonly settleMs: number;
  /** A month that still waits for something is evaluated again after this long even without changes. */
  readonly rescanMs: number;
  /** Id prefix of the organisations and registers this exporter handles; '' for all. */
  readonly scope: string;
  /** Writes alerts to `alert.v1`; resolves once Kafka acknowledged them. */
  readonly sendAlerts: (alerts: readonly Alert[]) => Promise<void>;
  readonly logger: Logger;
  readonly metrics?: Registry;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What one run did. */
export interface ExportRunReport {
  /** False when another instance held the lock, so this one did nothing. */
  readonly ran: boolean;
  readonly planned: readonly string[];
  readonly written: readonly string[];
  readonly failed: readonly string[];
  readonly problems: number;
  readonly alerts: number;
}

export interface Exporter {
  /** One export run; throws only when PostgreSQL fails (a destination failure leaves batches pending). */
  runOnce(): Promise<ExportRunReport>;
}

export function createExporter(options: ExporterOptions): Exporter {
  const { pool, destination, scope } = options;
  const now = options.now ?? Date.now;
  const logger = options.logger.child({ component: 'billing-exporter' });
  const metrics = options.metrics === undefined ? undefined : {
    written: new Counter({ name: 'meterflux_billing_batches_written_total', help: 'Export batches written to the destination.', labelNames: ['format', 'kind'], registers: [options.metrics] }),
    failures: new Counter({ name: 'meterflux_billing_write_failures_total', help: 'Failed writes of export files; the batch stays pending and is retried.', registers: [options.metrics] }),
  };
  /** Per month: when it was evaluated, the newest change it saw, and whether something still waited. */
  const evaluated = new Map<string, { at: number; changedAt: number; outstanding: boolean }>();

  async function writePending(client: PoolClient, written: string[], failed: string[]): Promise<void> {
    for (const batch of await pendingBatches(client, scope)) {
      try {
        const location = await destination.put(batch.fileName, batch.content);
        if (await markWritten(client, batch.id, location)) {
          written.push(batch.id);
          metrics?.written.inc({ format: batch.format, kind: batch.kind });
          logger.info({ batchId: batch.id, location, bytes: batch.content.length, checksumSha256: batch.checksumSha256 }, 'export batch written');
        }
      } catch (err) {
        failed.push(batch.id);
        metrics?.failures.inc();
        logger.warn({ err, batchId: batch.id }, 'writing an export file failed; the batch stays pending and is retried');
        await markAttemptFailed(client, batch.id, errorMessage(err));
      }
    }
  }

  function due(period: string, changedAt: number, t: number): boolean {
    const seen = evaluated.get(period);
    if (seen === undefined || changedAt > seen.changedAt) return true;
    return seen.outstanding && t - seen.at >= Math.min(options.rescanMs, options.settleMs);
  }

  async function evaluate(client: PoolClient, period: string, changedAt: number, planned: string[]): Promise<number> {
    const t = now();
    const snapshot = await loadSnapshot(client, { scope, period, now: t, settleMs: options.settleMs });
    const plan = planPeriod(snapshot);
    const problems: Problem[] = [...plan.problems];
    const rendered: RenderedBatch[] = [];
    for (const batch of plan.batches) {
      try {
        rendered.push(renderBatch(batch, options.encoding, t));
      } catch (err) {
        if (!(err instanceof LayoutError)) throw err;
        problems.push({
          id: `FILE_LAYOUT|${batch.organisationId}|${batch.format}|${period}`, reason: 'FILE_LAYOUT', period, organisationId: batch.organisationId,
          accountId: null, registerId: null, deviceId: null, resource: null, formats: [batch.format], message: err.message,
        });
      }
    }
    if (rendered.length > 0) await recordPlan(client, { scope, period, batches: rendered, problems });
    else await recordProblemsOnly(client, scope, period, problems);
    planned.push(...rendered.map((r) => r.id));
    evaluated.set(period, { at: t, changedAt, outstanding: plan.outstanding || problems.length > 0 });
    if (rendered.length > 0) logger.info({ period, batches: rendered.map((r) => r.id), problems: problems.length }, 'export batches planned');
    return problems.length;
  }

  async function sendAlerts(client: PoolClient): Promise<number> {
    const pending = await unalertedProblems(client, scope);
    const alerts = pending.map((p) => ({ problem: p, alert: alertFor(p, now()) }));
    const sendable = alerts.filter((a): a is { problem: typeof a.problem; alert: Alert } => a.alert !== undefined);
    if (sendable.length > 0) await options.sendAlerts(sendable.map((a) => a.alert));
    // Problems without a device cannot be keyed on alert.v1; they stay visible through the API.
    await markAlerted(client, alerts.map((a) => ({ id: a.problem.id, alertRevision: a.problem.alertRevision })));
    return sendable.length;
  }

  return {
    async runOnce() {
      const client = await pool.connect();
      try {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [LOCK_CLASS, scope]);
        if (rows[0]?.locked !== true) return { ran: false, planned: [], written: [], failed: [], problems: 0, alerts: 0 };
        try {
          const planned: string[] = [];
          const written: string[] = [];
          const failed: string[] = [];
          let problems = 0;
          await writePending(client, written, failed);
          const t = now();
          for (const { period, changedAt } of await billablePeriods(client, scope)) {
            if (due(period, changedAt, t)) problems += await evaluate(client, period, changedAt, planned);
          }
          if (planned.length > 0) await writePending(client, written, failed);
          const alerts = await sendAlerts(client);
          return { ran: true, planned, written, failed, problems, alerts };
        } finally {
          await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, scope]);
        }
      } finally {
        client.release();
      }
    },
  };
}
