/**
 * The replay operations: plan (dry run), create and run (resumable), compare, switch and discard.
 * main.ts is the command line over them; tests call them directly.
 *
 * A run reads a range of a live topic and never writes it. Everything it writes is its own: its
 * copy of the range and the derived topics under the run prefix `replay-<runId>.`, consumer groups
 * and transactional ids under the same prefix, and index generation N+1 kept out of the read
 * aliases until `switch`. Live consumers, their groups and their indices are never touched.
 */
import type { Client } from '@elastic/elasticsearch';
import { errors as esErrors } from '@elastic/elasticsearch';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { Registry } from 'prom-client';
import type { RegistryCodec } from '../../core/avro/registry-codec.js';
import type { Config } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { ensureTopics } from '../../core/kafka/ensure-topics.js';
import type { KafkaClient } from '../../core/kafka/client.js';
import type { Component } from '../../core/lifecycle.js';
import type { Logger } from '../../core/log.js';
import { createTopicCatalogue, type TopicCatalogue } from '../../core/topics.js';
import { createConcentrationProcess } from '../concentration/main.js';
import { createConsumptionProcess } from '../consumption/main.js';
import { createDecodeProcess, type DecodeOptions } from '../decode/main.js';
import { swapAlias } from '../index/aliases.js';
import { topicBindings } from '../index/families.js';
import { generationPattern, INDEX_TYPES, isMonthly, readAlias, templateName, type IndexNaming, type IndexType } from '../index/index-names.js';
import { createIndexWorker } from '../index/worker.js';
import { compareFigures, type Comparison } from './compare.js';
import { readFigures, readingsWindow, type Window } from './figures.js';
import {
  boundOffsets,
  isRunId,
  newRunId,
  nextGeneration,
  partitionRanges,
  rangeCount,
  runNames,
  runPrefix,
  sourceFamily,
  stageGroup,
  type RangeBound,
  type RunNames,
  type TopicRange,
} from './plan.js';
import { caughtUp, consumed, groupPositions } from './positions.js';
import { ProgressMeter, startProgressLine, type ProgressOutput } from './progress.js';
import { createStage } from './stage.js';
import { activeRunGenerations, findRun, insertRun, liveGenerations, moveRun, recordLiveGenerations, type ReplayRun } from './store.js';

/** What every operation works with. */
export interface ReplayContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly kafka: KafkaClient;
  readonly codec: RegistryCodec;
  readonly elasticsearch: Client;
  readonly db: pg.Pool;
  /** The live catalogue (tests pass a prefixed one). */
  readonly catalogue: TopicCatalogue;
  /** Prefix of the live indices and aliases (INDEX_PREFIX). */
  readonly indexPrefix: string;
  /** The decode rules a run decodes with: the current decoders' settings. */
  readonly decodeOptions?: DecodeOptions;
}

/** What to replay. */
export interface ReplayRequest {
  /** A live topic name; the raw input topic when omitted. */
  readonly topic?: string;
  /** @default the start of every partition */
  readonly from?: RangeBound;
  /** @default the high watermark of every partition now */
  readonly to?: RangeBound;
  /** @default a fresh id from the time and random letters */
  readonly runId?: string;
}

/** A plan: everything `plan` prints and `run` records. */
export interface ReplayPlan {
  readonly runId: string;
  readonly ranges: readonly TopicRange[];
  /** Records in the ranges (an upper bound: transaction markers count). */
  readonly total: number;
  /** Whether the records go through decode. */
  readonly decode: boolean;
  readonly indexPrefix: string;
  readonly indexTypes: readonly IndexType[];
  /** The live generation of each type now, and the generation the run builds. */
  readonly liveGenerations: Readonly<Record<IndexType, number>>;
  readonly generation: number;
  /** Index name patterns of the new generation. */
  readonly indices: readonly string[];
  readonly names: RunNames;
}

const livePrefixOf = (catalogue: TopicCatalogue): string => catalogue.rawUplinks.name.slice(0, -'uplink.raw.v1'.length);

/** The run's catalogue: every live name under the run prefix, same partitions as the source. */
function replayCatalogue(ctx: ReplayContext, prefix: string, partitions: number): TopicCatalogue {
  return createTopicCatalogue({ prefix: prefix + livePrefixOf(ctx.catalogue), partitions });
}

async function partitionsOf(ctx: ReplayContext, topic: string): Promise<number> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const [described] = await admin.describeTopics([topic]);
    if (described === undefined) throw new TypeError(`topic ${topic} does not exist`);
    return described.partitions;
  } finally {
    await admin.disconnect();
  }
}

/** Generations that have indices under the prefix, for the types given. */
async function existingGenerations(es: Client, indexPrefix: string, types: readonly IndexType[]): Promise<number[]> {
  const found: number[] = [];
  for (const type of types) {
    const indices = await es.cat.indices({ index: `${indexPrefix}${type}-v*`, h: 'index', format: 'json', expand_wildcards: 'all' });
    for (const row of indices as Array<{ index?: string }>) {
      const match = new RegExp(`^${indexPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${type}-v(\\d+)(-|$)`).exec(row.index ?? '');
      if (match) found.push(Number(match[1]));
    }
  }
  return found;
}

const fullGenerations = (live: Partial<Record<IndexType, number>>): Record<IndexType, number> =>
  Object.fromEntries(INDEX_TYPES.map((t) => [t, live[t] ?? 1])) as Record<IndexType, number>;

/**
 * Works out a replay without changing anything: the offset range of every partition (times
 * resolved by the broker's offsets-for-timestamp), what would be rebuilt, and under which names.
 *
 * @throws TypeError for a topic that cannot be replayed or a malformed bound or run id.
 */
export async function planReplay(ctx: ReplayContext, request: ReplayRequest = {}): Promise<ReplayPlan> {
  const runId = request.runId ?? newRunId(Date.now(), randomBytes(3).toString('hex'));
  if (!isRunId(runId)) throw new TypeError(`a run id must be lowercase letters, digits and "-" (at most 40), got "${runId}"`);
  const family = sourceFamily(ctx.catalogue, request.topic ?? ctx.catalogue.rawUplinks.name);
  const from = request.from ?? { kind: 'start' };
  const to = request.to ?? { kind: 'end' };
  const admin = ctx.kafka.admin();
  await admin.connect();
  const ranges: TopicRange[] = [];
  let partitions = 0;
  try {
    for (const topic of family.topics) {
      const bounds = await admin.topicOffsets(topic.name);
      partitions = bounds.length;
      const at = async (bound: RangeBound) => (bound.kind === 'time' ? admin.topicOffsetsAt(topic.name, bound.at) : undefined);
      ranges.push({
        topic: topic.name,
        partitions: partitionRanges(bounds, boundOffsets(from, bounds, await at(from)), boundOffsets(to, bounds, await at(to))),
      });
    }
  } finally {
    await admin.disconnect();
  }
  const live = await liveGenerations(ctx.db, ctx.indexPrefix);
  const existing = [...(await existingGenerations(ctx.elasticsearch, ctx.indexPrefix, family.indexTypes)), ...(await activeRunGenerations(ctx.db, ctx.indexPrefix))];
  const generation = nextGeneration(live, existing, family.indexTypes);
  const prefix = runPrefix(runId);
  return {
    runId,
    ranges,
    total: ranges.reduce((sum, r) => sum + rangeCount(r.partitions), 0),
    decode: family.decode,
    indexPrefix: ctx.indexPrefix,
    indexTypes: family.indexTypes,
    liveGenerations: fullGenerations(live),
    generation,
    indices: family.indexTypes.map((type) => generationPattern({ prefix: ctx.indexPrefix, generation }, type)),
    names: runNames(replayCatalogue(ctx, prefix, partitions), prefix, family, partitions),
  };
}

/** Records a planned run, so `run` can start and resume it. */
export async function createRun(ctx: ReplayContext, plan: ReplayPlan): Promise<ReplayRun> {
  return insertRun(ctx.db, {
    runId: plan.runId,
    topicPrefix: plan.names.prefix,
    indexPrefix: plan.indexPrefix,
    sources: plan.ranges.map((r) => r.topic),
    ranges: plan.ranges,
    indexTypes: plan.indexTypes,
    generation: plan.generation,
  });
}

async function requireRun(ctx: ReplayContext, runId: string): Promise<ReplayRun> {
  const run = await findRun(ctx.db, runId);
  if (run === undefined) throw new TypeError(`there is no replay run "${runId}"`);
  return run;
}

/**
 * Creates the run's topics from its catalogue. Right after creation the broker may not yet serve
 * a new partition's metadata; creation is idempotent, so it is tried again until every partition
 * answers a ListOffsets.
 */
async function ensureRunTopics(ctx: ReplayContext, replay: TopicCatalogue): Promise<void> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await ensureTopics(admin, replay.all, ctx.config.kafka.replicationFactor);
        for (const topic of replay.all) await admin.topicOffsets(topic.name);
        return;
      } catch (err) {
        if ((err as { retriable?: boolean }).retriable !== true || Date.now() > deadline) throw err;
        await sleep(500);
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/** Options of {@link runReplay}. */
export interface RunOptions {
  /** Where the progress line goes (standard error on the command line); none when omitted. */
  readonly progress?: ProgressOutput;
  /** Stops the run (its progress is kept; `run` again resumes it). */
  readonly signal?: AbortSignal;
  /**
   * How often progress and completion are checked.
   * @default 500
   */
  readonly pollMs?: number;
}

/** What a finished run built. */
export interface RunReport {
  readonly runId: string;
  /** Whether the run finished (false: stopped by the signal, resumable). */
  readonly finished: boolean;
  readonly generation: number;
  /** Documents in the new generation, per type. */
  readonly documents: Readonly<Partial<Record<IndexType, number>>>;
  /** Receipt window of the replayed readings. */
  readonly window: Window | undefined;
  readonly elapsedMs: number;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

/**
 * Runs (or resumes) a recorded run: copies the range, decodes it with the current decoders (raw
 * input), indexes the results into generation N+1, and returns once everything is indexed, or
 * when `signal` aborts. Killing it at any point and running it again leaves every output once:
 * copies, decode outputs and offsets commit in Kafka transactions, and documents have
 * deterministic ids.
 *
 * @throws TypeError for an unknown run or one that was switched or discarded.
 */
export async function runReplay(ctx: ReplayContext, runId: string, options: RunOptions = {}): Promise<RunReport> {
  const startedAt = Date.now();
  const run = await requireRun(ctx, runId);
  if (!(await moveRun(ctx.db, runId, ['planned', 'running', 'built'], 'running'))) {
    throw new TypeError(`replay run "${runId}" is ${run.state}: only a planned, running or built run can run`);
  }
  const logger = ctx.logger.child({ component: 'replay', runId });
  const prefix = run.topicPrefix;
  const family = sourceFamily(ctx.catalogue, run.sources[0]!);
  const partitions = await partitionsOf(ctx, run.sources[0]!);
  const replay = replayCatalogue(ctx, prefix, partitions);
  const staged = (topic: string): string => prefix + topic;

  await ensureRunTopics(ctx, replay);
  // The run's subjects, one at a time before anything starts: workers started side by side share
  // some (reading.v1's dead letters: index, consumption, concentration), and two first
  // registrations of one subject at once race in setting its compatibility.
  for (const topic of replay.all) await ctx.codec.register(topic.subject, topic.record);

  const bindings = topicBindings(replay, run.indexTypes, prefix);
  const index = createIndexWorker({
    kafka: ctx.kafka,
    codec: ctx.codec,
    catalogue: replay,
    elasticsearch: ctx.elasticsearch,
    logger,
    registry: new Registry(),
    prefix: run.indexPrefix,
    generation: run.generation,
    groupIdPrefix: prefix,
    attachReadAliases: false,
    types: run.indexTypes,
    readingConsumers: ctx.config.index.readingConsumers,
    bulk: { maxBatchDocs: ctx.config.index.bulkMaxDocs, maxBatchBytes: ctx.config.index.bulkMaxBytes, maxInFlight: ctx.config.index.bulkMaxInFlight },
  });
  const decode = family.decode
    ? createDecodeProcess({
        config: ctx.config,
        logger,
        catalogue: replay,
        metrics: new Registry(),
        prefix,
        ...(ctx.decodeOptions === undefined ? {} : { options: ctx.decodeOptions }),
      })
    : undefined;
  // The replayed readings are recomputed, not re-indexed: consumption and concentration derive
  // the run's records from them as the live workers do from live readings.
  const derivers = family.decode
    ? [
        { name: 'consumption', components: createConsumptionProcess({ config: ctx.config, logger, catalogue: replay, metrics: new Registry(), prefix }).components },
        { name: 'concentration', components: createConcentrationProcess({ config: ctx.config, logger, catalogue: replay, metrics: new Registry(), prefix }).components },
      ]
    : [];
  const stage = createStage({ kafka: ctx.kafka, logger, groupId: stageGroup(prefix), targetOf: staged, ranges: run.ranges });
  // Started and stopped side by side: every reader starts at the beginning of its topic, so none
  // misses what is written before it joins; each group's own parts keep their order.
  const components: Component[] = [
    index,
    ...(decode ? [sequence('decode', decode.components)] : []),
    ...derivers.map((d) => sequence(d.name, d.components)),
    { name: 'replay-stage', start: () => stage.start(), stop: () => stage.stop() },
  ];

  const total = run.ranges.reduce((sum, r) => sum + rangeCount(r.partitions), 0);
  const meter = new ProgressMeter({ total });
  const line = options.progress ? startProgressLine(options.progress, `replay ${runId}`, meter) : undefined;
  const started: Component[] = [];
  let finished = false;
  try {
    const starts = await Promise.allSettled(components.map(async (component) => {
      await component.start();
      started.push(component);
    }));
    const failed = starts.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    logger.info({ total, elapsedMs: Date.now() - startedAt }, 'replay started');
    const pollMs = options.pollMs ?? 500;
    // What the first reader of the copy has consumed is the run's progress: copied and processed.
    const progressGroup = family.decode ? `${prefix}decode` : bindings.find((b) => b.topic.name === staged(run.sources[0]!))!.groupId;
    const progressTopics = family.decode ? [staged(ctx.catalogue.rawUplinks.name)] : run.sources.map(staged);
    const update = async (): Promise<void> => {
      let done = 0;
      for (const topic of progressTopics) done += consumed(await groupPositions(ctx.kafka, progressGroup, topic));
      meter.update(done);
    };

    // The run is done when the copy is complete and every reader downstream has consumed all of it.
    const readers = [
      ...(family.decode ? [{ group: `${prefix}decode`, topic: staged(ctx.catalogue.rawUplinks.name) }] : []),
      ...derivers.map((d) => ({ group: `${prefix}${d.name}`, topic: replay.readings.name })),
      ...bindings.map((b) => ({ group: b.groupId, topic: b.topic.name })),
    ];
    let stageDone = false;
    let stageError: unknown;
    stage.finished().then(
      () => {
        stageDone = true;
        logger.info({ elapsedMs: Date.now() - startedAt }, 'range copied');
      },
      (err: unknown) => (stageError = err ?? new Error('the copy stage failed')),
    );
    let next = 0;
    let lastPositions = '';
    let still = 0;
    while (!options.signal?.aborted) {
      await sleep(pollMs, options.signal);
      if (options.signal?.aborted) break;
      if (stageError !== undefined) throw stageError;
      await update();
      if (!stageDone) continue;
      // Readers in order: a reader is only complete once the one before it is.
      const positions = JSON.stringify(await Promise.all(readers.map(async (r) => consumed(await groupPositions(ctx.kafka, r.group, r.topic)))));
      still = positions === lastPositions ? still + 1 : 0;
      lastPositions = positions;
      while (next < readers.length && (await caughtUp(ctx.kafka, readers[next]!.group, readers[next]!.topic, still >= 4))) {
        logger.info({ ...readers[next], elapsedMs: Date.now() - startedAt }, 'reader caught up');
        next += 1;
      }
      if (next === readers.length) {
        finished = true;
        break;
      }
      if (still >= 4) still = 0;
    }
  } finally {
    await Promise.all(started.map((component) => component.stop().catch((err: unknown) => logger.error({ err, component: component.name }, 'stopping failed'))));
    if (finished) meter.update(total);
    line?.stop();
  }

  const naming: IndexNaming = { prefix: run.indexPrefix, generation: run.generation };
  const documents: Partial<Record<IndexType, number>> = {};
  let window: Window | undefined;
  if (finished) {
    await ctx.elasticsearch.indices.refresh({ index: run.indexTypes.map((t) => generationPattern(naming, t)), ignore_unavailable: true, allow_no_indices: true });
    for (const type of run.indexTypes) documents[type] = await countDocuments(ctx.elasticsearch, generationPattern(naming, type));
    window = run.indexTypes.includes('readings') ? await readingsWindow(ctx.elasticsearch, naming) : undefined;
    await moveRun(ctx.db, runId, ['running'], 'built');
    logger.info({ documents, generation: run.generation }, 'replay built');
  }
  return { runId, finished, generation: run.generation, documents, window, elapsedMs: Date.now() - startedAt };
}

/** Components started in order and stopped in reverse, as one; a failed start stops what started. */
function sequence(name: string, parts: readonly Component[]): Component {
  const started: Component[] = [];
  const stop = async (): Promise<void> => {
    for (const part of started.splice(0).reverse()) await part.stop();
  };
  return {
    name,
    async start() {
      try {
        for (const part of parts) {
          await part.start();
          started.push(part);
        }
      } catch (err) {
        await stop().catch(() => undefined);
        throw err;
      }
    },
    stop,
  };
}

async function countDocuments(es: Client, index: string): Promise<number> {
  return (await es.count({ index, ignore_unavailable: true, allow_no_indices: true })).count;
}

/** Live and replayed figures of a run, side by side. */
export interface RunComparison {
  readonly runId: string;
  readonly liveGenerations: Readonly<Partial<Record<IndexType, number>>>;
  readonly generation: number;
  /** Receipt window readings and alerts were compared in. */
  readonly window: Window | undefined;
  readonly comparison: Comparison;
}

/** The generation serving each type before the run: the live one, or for a switched run the one it replaced. */
async function generationsBefore(ctx: ReplayContext, run: ReplayRun): Promise<Record<IndexType, number>> {
  const { rows } = await ctx.db.query<{ index_type: IndexType; generation: number; previous_generation: number | null }>(
    'SELECT index_type, generation, previous_generation FROM index_generations WHERE index_prefix = $1',
    [run.indexPrefix],
  );
  const out = fullGenerations({});
  for (const row of rows) {
    if (!(INDEX_TYPES as readonly string[]).includes(row.index_type)) continue;
    out[row.index_type] = row.generation === run.generation ? (row.previous_generation ?? 1) : row.generation;
  }
  return out;
}

/**
 * Compares a built run's generation with the one serving before it: readings and alerts within
 * the replayed receipt window, the other types whole.
 */
export async function compareRun(ctx: ReplayContext, runId: string): Promise<RunComparison> {
  const run = await requireRun(ctx, runId);
  const before = await generationsBefore(ctx, run);
  const replayNaming: IndexNaming = { prefix: run.indexPrefix, generation: run.generation };
  const targets = run.indexTypes.flatMap((t) => [generationPattern(replayNaming, t), generationPattern({ prefix: run.indexPrefix, generation: before[t] }, t)]);
  await ctx.elasticsearch.indices.refresh({ index: targets, ignore_unavailable: true, allow_no_indices: true });
  const window = run.indexTypes.includes('readings') ? await readingsWindow(ctx.elasticsearch, replayNaming) : undefined;
  const live = [];
  for (const type of run.indexTypes) live.push(...(await readFigures(ctx.elasticsearch, { prefix: run.indexPrefix, generation: before[type] }, [type], window)));
  const replayed = await readFigures(ctx.elasticsearch, replayNaming, run.indexTypes, window);
  const liveGens = Object.fromEntries(run.indexTypes.map((t) => [t, before[t]]));
  return { runId, liveGenerations: liveGens, generation: run.generation, window, comparison: compareFigures(live, replayed) };
}

/** What a switch did. */
export interface SwitchReport {
  readonly runId: string;
  readonly generation: number;
  /** Per type: the generation the alias left, and documents carried over from it. */
  readonly types: ReadonlyArray<{ readonly type: IndexType; readonly from: number; readonly carried: number }>;
}

/** Fields whose time says whether a live document is outside what the run rebuilt; absent: carry all missing ones. */
const CARRY_WINDOW_FIELD: Partial<Record<IndexType, string>> = { readings: 'receivedAt', alerts: 'raisedAt' };

/** Types a raw replay recomputes from its readings rather than copies. */
const RECOMPUTED: readonly IndexType[] = ['consumption', 'concentrations'];

/**
 * Copies into generation `to` the documents of generation `from` the run did not rebuild: readings
 * and alerts received outside the run's window, and of other types every document the run did not
 * produce. Versions are kept, and a document of the run with the same or a newer version wins.
 * With `keepRun` (types the run recomputed), every document the run produced wins whatever its
 * version: a recomputation starts its revisions afresh, so a live document's higher revision says
 * nothing about which figures are newer.
 */
async function carryOver(es: Client, prefix: string, type: IndexType, from: number, to: number, window: Window | undefined, keepRun = false): Promise<number> {
  const source = generationPattern({ prefix, generation: from }, type);
  // Nothing to carry: a scroll over no documents leaves nothing for the helper to clear, which ends in a 404.
  if ((await countDocuments(es, source)) === 0) return 0;
  const field = CARRY_WINDOW_FIELD[type];
  const query =
    field !== undefined && window !== undefined
      ? { bool: { should: [{ range: { [field]: { lt: window.from, format: 'epoch_millis' } } }, { range: { [field]: { gt: window.to, format: 'epoch_millis' } } }], minimum_should_match: 1 } }
      : { match_all: {} };
  const fromName = `${prefix}${type}-v${from}`;
  const toName = `${prefix}${type}-v${to}`;
  // Scroll and bulk rather than _reindex, which a cluster without the reindex module lacks.
  let created = 0;
  let operations: object[] = [];
  const flush = async (): Promise<void> => {
    if (operations.length === 0) return;
    const result = await es.bulk({ operations, refresh: false });
    for (const item of result.items) {
      const outcome = item.index;
      if (outcome === undefined) continue;
      if (outcome.status === 201) created += 1;
      // 409: the run wrote this document with the same or a newer version; it stays.
      else if (outcome.status !== 200 && outcome.status !== 409) throw new Error(`carrying ${outcome._id} into ${outcome._index} failed: ${JSON.stringify(outcome.error)}`);
    }
    operations = [];
  };
  for await (const page of es.helpers.scrollSearch<Record<string, unknown>>({ index: source, query, size: 1000, ignore_unavailable: true, allow_no_indices: true, version: true })) {
    // Monthly indices keep their month: readings-v1-2026.03 → readings-v2-2026.03.
    const targets = page.body.hits.hits.map((hit) => ({ hit, index: toName + hit._index.slice(fromName.length) }));
    let present = new Set<string>();
    if (keepRun && targets.length > 0) {
      const found = await es.mget({ docs: targets.map((t) => ({ _index: t.index, _id: t.hit._id! })), _source: false });
      present = new Set(found.docs.filter((d) => 'found' in d && d.found).map((d) => `${d._index}|${d._id}`));
    }
    for (const { hit, index } of targets) {
      if (present.has(`${index}|${hit._id}`)) continue;
      operations.push({ index: { _index: index, _id: hit._id, version: hit._version, version_type: 'external' } }, hit._source ?? {});
    }
    await flush();
  }
  await flush();
  if (created > 0) await es.indices.refresh({ index: generationPattern({ prefix, generation: to }, type), ignore_unavailable: true, allow_no_indices: true });
  return created;
}

async function hasIndices(es: Client, pattern: string): Promise<boolean> {
  const found = await es.indices.get({ index: pattern, ignore_unavailable: true, allow_no_indices: true, expand_wildcards: 'open' });
  return Object.keys(found).length > 0;
}

/**
 * Puts a built run's generation live: carries over what the run did not rebuild, moves each read
 * alias in one atomic `_aliases` request (readers see the old indices or the new ones, never none),
 * and records the generation in `index_generations`. Idempotent: run it again after restarting the
 * index workers to carry over what they wrote to the old generation meanwhile.
 *
 * @throws TypeError unless the run is built or switched.
 */
export async function switchRun(ctx: ReplayContext, runId: string): Promise<SwitchReport> {
  const run = await requireRun(ctx, runId);
  if (run.state !== 'built' && run.state !== 'switched') throw new TypeError(`replay run "${runId}" is ${run.state}: only a built run can be switched`);
  const es = ctx.elasticsearch;
  const before = await generationsBefore(ctx, run);
  const naming: IndexNaming = { prefix: run.indexPrefix, generation: run.generation };
  const window = run.indexTypes.includes('readings') ? await readingsWindow(es, naming) : undefined;
  const types: Array<{ type: IndexType; from: number; carried: number }> = [];
  const recomputed = sourceFamily(ctx.catalogue, run.sources[0]!).decode;
  for (const type of run.indexTypes) {
    const from = before[type];
    const carried = await carryOver(es, run.indexPrefix, type, from, run.generation, window, recomputed && RECOMPUTED.includes(type));
    const alias = readAlias(run.indexPrefix, type);
    const target = generationPattern(naming, type);
    if (!isMonthly(type) && !(await hasIndices(es, target))) {
      // Nothing was built or carried: an empty index keeps the alias answering.
      await es.indices.create({ index: target }).catch((err: unknown) => {
        if (!(err instanceof esErrors.ResponseError && err.body?.error?.type === 'resource_already_exists_exception')) throw err;
      });
    }
    if (!(await hasIndices(es, target))) {
      ctx.logger.warn({ type, target }, 'the new generation has no indices of this type; its alias is left as it is');
    } else if (await hasIndices(es, generationPattern({ prefix: run.indexPrefix, generation: from }, type))) {
      await swapAlias(es, { alias, from: generationPattern({ prefix: run.indexPrefix, generation: from }, type), to: target });
    } else {
      await es.indices.updateAliases({ actions: [{ add: { indices: [target], alias } }] });
    }
    types.push({ type, from, carried });
  }
  await recordLiveGenerations(ctx.db, run.indexPrefix, run.indexTypes, run.generation, runId);
  await moveRun(ctx.db, runId, ['built'], 'switched');
  ctx.logger.info({ runId, generation: run.generation, types }, 'replay switched');
  return { runId, generation: run.generation, types };
}

/** What a discard deleted. */
export interface DiscardReport {
  readonly runId: string;
  readonly topics: readonly string[];
  readonly groups: readonly string[];
  /** Index patterns deleted; none for a switched run, whose generation is live. */
  readonly indices: readonly string[];
}

/**
 * Deletes a run's topics and consumer groups, and unless it was switched its indices and index
 * templates. Stop the run first: a group with a running member cannot be deleted.
 *
 * @throws ConfigError when the run is still running in a process (its groups have members).
 */
export async function discardRun(ctx: ReplayContext, runId: string): Promise<DiscardReport> {
  const run = await requireRun(ctx, runId);
  const prefix = run.topicPrefix;
  const admin = ctx.kafka.admin();
  await admin.connect();
  let topics: string[];
  let groups: string[];
  try {
    groups = (await admin.listGroups()).filter((g) => g.startsWith(prefix));
    try {
      await admin.deleteGroups(groups);
    } catch (cause) {
      throw new ConfigError([`the groups of replay run "${runId}" cannot be deleted while it runs; stop it first (${String(cause)})`]);
    }
    topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    await admin.deleteTopics(topics);
  } finally {
    await admin.disconnect();
  }
  const indices: string[] = [];
  if (run.state !== 'switched') {
    const naming: IndexNaming = { prefix: run.indexPrefix, generation: run.generation };
    const live = await liveGenerations(ctx.db, run.indexPrefix);
    for (const type of run.indexTypes) {
      if (live[type] === run.generation) continue;
      const pattern = generationPattern(naming, type);
      await ctx.elasticsearch.indices.delete({ index: pattern, ignore_unavailable: true, allow_no_indices: true, expand_wildcards: 'all' });
      indices.push(pattern);
    }
    if (!Object.values(live).includes(run.generation)) {
      for (const type of INDEX_TYPES) await ctx.elasticsearch.indices.deleteIndexTemplate({ name: templateName(naming, type) }, { ignore: [404] });
    }
    await moveRun(ctx.db, runId, ['planned', 'running', 'built'], 'discarded');
  }
  return { runId, topics, groups, indices };
}
