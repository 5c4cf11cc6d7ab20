/**
 * The replay command for data engineers:
 *
 *   npx tsx streams/replay/main.ts plan    [--topic T] [--from TIME | --from-offset N|P:N,…] [--to TIME | --to-offset …] [--json]
 *   npx tsx streams/replay/main.ts run     [--id RUN] [range options as for plan]
 *   npx tsx streams/replay/main.ts compare RUN [--json] [--changed]
 *   npx tsx streams/replay/main.ts switch  RUN
 *   npx tsx streams/replay/main.ts discard RUN
 *
 * `run --id RUN` of an existing run resumes it. Reports go to standard output, logs and the
 * progress line to standard error. README.md explains each step and the plain Kafka commands.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { createRegistryCodec } from '../../core/avro/registry-codec.js';
import { loadConfig } from '../../core/config.js';
import { errorMessage } from '../../core/errors.js';
import { createKafkaClient } from '../../core/kafka/client.js';
import { createLogger } from '../../core/log.js';
import { checkServices } from '../../core/preflight.js';
import { createTopicCatalogue } from '../../core/topics.js';
import { createElasticsearchClient } from '../index/elasticsearch.js';
import { formatComparison } from './compare.js';
import { parseOffsets, parseTime, type RangeBound } from './plan.js';
import { formatDuration } from './progress.js';
import { compareRun, createRun, discardRun, planReplay, runReplay, switchRun, type ReplayContext, type ReplayPlan, type ReplayRequest } from './replay.js';
import { findRun } from './store.js';

const USAGE = `usage: replay <plan|run|compare|switch|discard> …
  plan    [--topic T] [--from TIME | --from-offset N|P:N,…] [--to TIME | --to-offset …] [--json]
  run     [--id RUN] [--topic T] [range options]     (an existing --id resumes that run)
  compare RUN [--json] [--changed]
  switch  RUN
  discard RUN`;

/** The plan as text. */
export function formatPlan(plan: ReplayPlan): string {
  const lines = [`replay run ${plan.runId}: ${plan.total.toLocaleString('en-US')} records at most`];
  for (const range of plan.ranges) {
    lines.push(`  ${range.topic}`);
    for (const p of range.partitions) lines.push(`    partition ${String(p.partition).padStart(2)}  offsets ${p.from} to ${p.to}  (${(BigInt(p.to) - BigInt(p.from)).toLocaleString('en-US')})`);
  }
  lines.push(plan.decode ? 'through the current decoders, then indexed' : 'indexed again (no decoding)');
  lines.push(`index generation ${plan.generation} of ${plan.indexTypes.map((t) => `${t} (live: v${plan.liveGenerations[t]})`).join(', ')}`);
  lines.push(`  indices: ${plan.indices.join(', ')}`);
  lines.push(`topics (${plan.names.topics.length}): ${plan.names.topics.join(', ')}`);
  lines.push(`consumer groups: ${plan.names.groups.join(', ')}`);
  lines.push(`transactional ids: ${plan.names.transactionalIds.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function bound(time: string | undefined, offsets: string | undefined, side: 'from' | 'to'): RangeBound | undefined {
  if (time !== undefined && offsets !== undefined) throw new TypeError(`give --${side} or --${side}-offset, not both`);
  if (time !== undefined) return { kind: 'time', at: parseTime(time) };
  if (offsets !== undefined) return { kind: 'offset', offsets: parseOffsets(offsets) };
  return undefined;
}

/** The command line. */
export async function main(argv: readonly string[] = process.argv.slice(2), env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: {
      topic: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'from-offset': { type: 'string' },
      'to-offset': { type: 'string' },
      id: { type: 'string' },
      json: { type: 'boolean', default: false },
      changed: { type: 'boolean', default: false },
    },
  });
  const from = bound(values.from, values['from-offset'], 'from');
  const to = bound(values.to, values['to-offset'], 'to');
  const request: ReplayRequest = {
    ...(values.topic === undefined ? {} : { topic: values.topic }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(values.id === undefined ? {} : { runId: values.id }),
  };
  const runArg = positionals[0];
  const needsRun = command === 'compare' || command === 'switch' || command === 'discard';
  if (!['plan', 'run', 'compare', 'switch', 'discard'].includes(command ?? '') || (needsRun && runArg === undefined)) throw new TypeError(USAGE);

  const config = loadConfig(env);
  const logger = createLogger({ level: config.log.level, name: 'replay', destination: pino.destination(2) });
  await checkServices(config, ['kafka', 'schemaRegistry', 'postgres', 'redis']);
  const db = new pg.Pool({ connectionString: config.postgres.url, max: 4 });
  const elasticsearch = createElasticsearchClient({ url: config.elasticsearch.url });
  const ctx: ReplayContext = {
    config,
    logger,
    kafka: createKafkaClient(config.kafka, logger),
    codec: createRegistryCodec(config.schemaRegistry.url),
    elasticsearch,
    db,
    catalogue: createTopicCatalogue({ partitions: config.kafka.partitions }),
    indexPrefix: config.index.prefix,
  };
  const out = (text: string): boolean => process.stdout.write(text);
  try {
    switch (command) {
      case 'plan': {
        const plan = await planReplay(ctx, request);
        out(values.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan));
        break;
      }
      case 'run': {
        const existing = values.id === undefined ? undefined : await findRun(db, values.id);
        if (existing !== undefined && (from !== undefined || to !== undefined || values.topic !== undefined)) {
          throw new TypeError(`run ${values.id} exists: resume it with --id alone (its range is fixed)`);
        }
        const runId = existing?.runId ?? (await createRun(ctx, await planReplay(ctx, request))).runId;
        process.stderr.write(`replay run ${runId}${existing ? ' (resumed)' : ''}\n`);
        const controller = new AbortController();
        const onSignal = (): void => {
          if (controller.signal.aborted) process.exit(1);
          process.stderr.write('\nstopping; `run --id ' + runId + '` resumes\n');
          controller.abort();
        };
        process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
        const report = await runReplay(ctx, runId, { progress: process.stderr, signal: controller.signal });
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
        out(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${report.finished ? 'built' : 'stopped'} generation ${report.generation} in ${formatDuration(report.elapsedMs)}: ${Object.entries(report.documents).map(([t, n]) => `${t} ${n}`).join(', ') || 'not finished'}\n`);
        if (!report.finished) process.exitCode = 130;
        break;
      }
      case 'compare': {
        const result = await compareRun(ctx, runArg!);
        if (values.json) out(`${JSON.stringify(result, null, 2)}\n`);
        else {
          const window = result.window ? `received ${new Date(result.window.from).toISOString()} to ${new Date(result.window.to).toISOString()}` : 'whole indices';
          out(`live (${Object.entries(result.liveGenerations).map(([t, g]) => `${t} v${g}`).join(', ')}) against replay v${result.generation}, ${window}\n\n`);
          out(formatComparison(result.comparison, { changedOnly: values.changed }));
        }
        break;
      }
      case 'switch': {
        const report = await switchRun(ctx, runArg!);
        for (const t of report.types) out(`${t.type}: alias moved from v${t.from} to v${report.generation}, ${t.carried} documents carried over\n`);
        out('restart the index workers so they write the new generation, then run switch again to carry over what they wrote meanwhile\n');
        break;
      }
      case 'discard': {
        const report = await discardRun(ctx, runArg!);
        out(`deleted ${report.topics.length} topics, ${report.groups.length} consumer groups, indices: ${report.indices.join(', ') || 'none (the generation is live)'}\n`);
        break;
      }
    }
  } finally {
    await db.end();
    await elasticsearch.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`replay failed: ${errorMessage(err)}\n`);
    process.exit(process.exitCode === 130 ? 130 : 1);
  });
}
