/**
 * `make bench`: runs every benchmark against the local stack and prints one markdown table of
 * ratios against baselines measured in the same run. Copy the table into the README's
 * "Performance" section when it changes.
 */
import { benchKafkaRecords } from './kafka-records.bench.js';
import { benchIndexing } from './indexing.bench.js';
import { benchConnectors } from './connectors.bench.js';
import { benchDecode } from './decode.bench.js';
import { renderResults, type BenchResult } from './lib/measure.js';

const results: BenchResult[] = [];
results.push(...(await benchKafkaRecords()));
results.push(...(await benchIndexing()));
results.push(...(await benchConnectors()));
results.push(...(await benchDecode()));
process.stdout.write(`${renderResults(results)}\n`);
process.exit(0);
