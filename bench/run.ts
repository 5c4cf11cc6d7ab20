/**
 * `make bench`: runs the benchmarks against the local stack and prints one markdown table of
 * ratios against baselines measured in the same run. Copy the table into the README's
 * "Performance" section when it changes.
 *
 * `BENCH=decode,consumption make bench` runs only the named ones (names as in {@link BENCHMARKS}).
 */
import { benchKafkaRecords } from './kafka-records.bench.js';
import { benchIndexing } from './indexing.bench.js';
import { benchConnectors } from './connectors.bench.js';
import { benchDecode } from './decode.bench.js';
import { benchConsumption } from './consumption.bench.js';
import { benchConcentration } from './concentration.bench.js';
import { benchAlerts } from './alerts.bench.js';
import { benchGraphql } from './graphql.bench.js';
import { benchGraphqlLatency } from './graphql-latency.bench.js';
import { benchGraphqlQueries } from './graphql-queries.bench.js';
import { benchBilling } from './billing.bench.js';
import { benchReplay } from './replay.bench.js';
import { renderResults, type BenchResult } from './lib/measure.js';

/** Every benchmark by name, in the order `make bench` runs them. */
const BENCHMARKS: Readonly<Record<string, () => Promise<BenchResult[]>>> = {
  kafka: benchKafkaRecords,
  indexing: benchIndexing,
  connectors: benchConnectors,
  decode: benchDecode,
  consumption: () => benchConsumption(),
  concentration: () => benchConcentration(),
  alerts: () => benchAlerts(),
  graphql: () => benchGraphql(),
  'graphql-latency': () => benchGraphqlLatency(),
  // The first run on a fresh stack loads 10 million readings (about 11 minutes); later runs reuse them.
  'graphql-queries': () => benchGraphqlQueries(),
  billing: benchBilling,
  replay: benchReplay,
};

const wanted = (process.env['BENCH'] ?? '').split(',').map((name) => name.trim()).filter(Boolean);
const unknown = wanted.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}\n`);
  process.exit(2);
}

const results: BenchResult[] = [];
for (const [name, bench] of Object.entries(BENCHMARKS)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  process.stderr.write(`bench: ${name}\n`);
  results.push(...(await bench()));
}
process.stdout.write(`${renderResults(results)}\n`);
process.exit(0);
