/**
 * The consumption worker: a stateful worker `consumption` on `reading.v1` writing
 * `consumption.daily.v1` and `consumption.monthly.v1` (too-late readings go to `reading.v1.dlq`),
 * run by the stateful runner, so each batch's records, state changes and offsets commit in one
 * Kafka transaction. State is one value per register (key registerId = `{deviceId}/{registerKey}`,
 * as `registers.id`); readings are keyed by deviceId, so all of a device's registers live in one
 * partition. Timers turn periods FINAL when their grace has passed without new input.
 * Rules and state layout: README.md; the algorithm: engine.ts and series.ts.
 */
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import { BadInputError } from '../../core/errors.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import type { Logger } from '../../core/log.js';
import type { TopicCatalogue } from '../../core/topics.js';
import type { Reading } from '../../schemas/avro/index.js';
import { createStatefulWorker, type StatefulWorker, type WorkerContext } from '../runtime/stateful-worker.js';
import { applyReading, emptyState, nextTimer, refresh, type ConsumptionRules, type RegisterProfile, type RegisterState, type StepResult } from './engine.js';
import { noConsumptionMetrics, type ConsumptionMetrics } from './metrics.js';
import { nanoFromNumber } from './nano.js';
import { DEFAULT_COUNTER, readingRange, stepOfState, withStep, wrapRange } from './range.js';
import { consumptionStateCodec } from './state.js';
import { DEFAULT_MAX_GAP_MS, type RegisterFacts, type RegisterRegistry } from './registry.js';

/** The worker's name: its consumer group, changelog topic and transactional ids derive from it. */
export const CONSUMPTION_WORKER = 'consumption';

/**
 * Whether a reading feeds consumption: the current value (storage 0, function INSTANTANEOUS) of a
 * cumulative register, finite, not flagged OUT_OF_RANGE nor CLOCK_IN_FUTURE. Stored values
 * (storage ≥ 1) repeat past due-date values and extremes are not indices, so neither is a point of
 * the register's chain; a time from a clock running ahead would move the late-data window forward
 * and make the register's true readings too late.
 */
export function feedsConsumption(r: Reading): boolean {
  return r.cumulative && r.function === 'INSTANTANEOUS' && r.storageNumber === 0 && Number.isFinite(r.value)
    && !r.qualityFlags.includes('OUT_OF_RANGE') && !r.qualityFlags.includes('CLOCK_IN_FUTURE');
}

/** The register id of a reading, as `registers.id`. */
export const registerIdOf = (r: Pick<Reading, 'deviceId' | 'registerKey'>): string => `${r.deviceId}/${r.registerKey}`;

/**
 * The profile of a register: the registry's facts, else the defaults and the reading's own values.
 * @param range the wrap range the reading is judged with (range.ts `readingRange`).
 */
export function profileOf(reading: Reading, facts: RegisterFacts | undefined, range: bigint): RegisterProfile {
  return {
    registerId: registerIdOf(reading),
    deviceId: reading.deviceId,
    registerKey: reading.registerKey,
    unit: facts?.unit ?? reading.unit,
    organisationId: facts?.organisationId === undefined ? reading.organisationId : facts.organisationId,
    siteId: facts?.siteId === undefined ? reading.siteId : facts.siteId,
    timeZone: facts?.timeZone ?? 'UTC',
    billingDayStartHour: facts?.billingDayStartHour ?? 0,
    range,
    maxGapMs: facts?.maxGapMs ?? DEFAULT_MAX_GAP_MS,
  };
}

/** Everything the consumption worker is built from. */
export interface ConsumptionWorkerDeps {
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly catalogue: TopicCatalogue;
  readonly logger: Logger;
  readonly registry: RegisterRegistry;
  readonly rules: ConsumptionRules;
  readonly metrics?: ConsumptionMetrics;
  /**
   * Prefix of the consumer group and changelog (tests use the catalogue prefix).
   * @default ''
   */
  readonly prefix?: string;
  /** Wall clock for statuses and `computedAt`. @default Date.now */
  readonly now?: () => number;
  /** How often due timers are looked for. @default 1000 */
  readonly timerIntervalMs?: number;
}

/** Creates the worker; the caller starts and stops it (a lifecycle component). */
export function createConsumptionWorker(deps: ConsumptionWorkerDeps): StatefulWorker {
  const { catalogue, registry, rules } = deps;
  const metrics = deps.metrics ?? noConsumptionMetrics;
  const logger = deps.logger.child({ component: 'consumption' });

  function emit(ctx: WorkerContext<RegisterState>, result: StepResult): void {
    for (const record of result.daily) ctx.emit(catalogue.consumptionDaily, record);
    for (const record of result.monthly) ctx.emit(catalogue.consumptionMonthly, record);
    for (const [granularity, list] of [['DAILY', result.daily], ['MONTHLY', result.monthly]] as const) {
      for (const status of ['PROVISIONAL', 'FINAL', 'RESTATED'] as const) metrics.emitted(granularity, status, list.filter((r) => r.status === status).length);
    }
  }

  return createStatefulWorker<'Reading', RegisterState>(
    {
      name: CONSUMPTION_WORKER,
      input: catalogue.readings,
      outputs: [catalogue.consumptionDaily, catalogue.consumptionMonthly],
      stateCodec: consumptionStateCodec,
      async beforeBatch(_partition, records) {
        const wanted = records.filter((r) => feedsConsumption(r.value)).map((r) => ({ registerId: registerIdOf(r.value), deviceId: r.value.deviceId }));
        await registry.load(wanted);
      },
      handle({ value: reading, message }, ctx) {
        if (!feedsConsumption(reading)) {
          metrics.reading('ignored');
          return;
        }
        const registerId = registerIdOf(reading);
        const facts = registry.get(registerId);
        const value = nanoFromNumber(reading.value);
        const known = ctx.get(registerId);
        const { step, range } = readingRange(known, facts?.counter ?? DEFAULT_COUNTER, value);
        const profile = profileOf(reading, facts, range);
        const state = withStep(known ?? emptyState(profile), step);
        const result = applyReading(state, profile, facts?.replacements ?? state.replacements, { at: reading.observedAt, value }, ctx.now(), rules);
        if (result.tooLate) {
          metrics.reading('too_late');
          throw new BadInputError(
            `reading ${reading.readingId} of ${registerId} observed at ${new Date(reading.observedAt).toISOString()} is too late: ` +
              `the register's history begins at ${new Date(state.base?.at ?? 0).toISOString()} (late-data window ${rules.lateWindowMs} ms)`,
            { reason: 'READING_TOO_LATE' },
          );
        }
        metrics.reading('used');
        if (result.quarantined) {
          metrics.quarantined();
          logger.warn({ registerId, readingId: reading.readingId, observedAt: reading.observedAt, partition: message.partition, offset: message.offset },
            'reading quarantined as a suspected reset');
        }
        ctx.put(registerId, result.state);
        emit(ctx, result);
      },
      timerOf: (state) => nextTimer(state, rules.graceMs),
      onTimer(key, ctx) {
        const state = ctx.get(key);
        if (state === undefined) return;
        // No lookup here: many periods fall due together (every register's day ends at midnight),
        // and facts the cache holds are as fresh as the register's last reading made them.
        const facts = registry.get(key);
        const profile: RegisterProfile = facts === undefined ? state.profile : {
          ...state.profile,
          unit: facts.unit ?? state.profile.unit,
          ...(facts.organisationId === undefined ? {} : { organisationId: facts.organisationId, siteId: facts.siteId ?? null }),
          timeZone: facts.timeZone,
          billingDayStartHour: facts.billingDayStartHour,
          range: wrapRange(facts.counter, stepOfState(state, facts.counter.multiplier)),
          maxGapMs: facts.maxGapMs,
        };
        const result = refresh(state, profile, facts?.replacements ?? state.replacements, ctx.now(), rules);
        ctx.put(key, result.state);
        emit(ctx, result);
      },
    },
    {
      kafka: deps.kafka,
      codec: deps.codec,
      catalogue,
      logger: deps.logger,
      prefix: deps.prefix ?? '',
      ...(deps.now === undefined ? {} : { now: deps.now }),
      ...(deps.timerIntervalMs === undefined ? {} : { timerIntervalMs: deps.timerIntervalMs }),
    },
  );
}
