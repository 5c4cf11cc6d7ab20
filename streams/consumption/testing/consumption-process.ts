/**
 * The consumption process under a test prefix, for crash tests:
 * `node --import tsx streams/consumption/testing/consumption-process.ts <prefix>` reads
 * `<prefix>reading.v1` (3 partitions) with its group and changelog under the same prefix, the
 * common variables (CONSUMPTION_GRACE_MS among them) from the environment. It writes `ready` on
 * stdout once started and stops on SIGTERM or SIGINT; crash tests kill it with SIGKILL.
 * Started with `node --import tsx` rather than the tsx binary, whose grandchild a SIGKILL would miss.
 */
import { Registry } from 'prom-client';
import { loadConfig } from '../../../core/config.js';
import { errorMessage } from '../../../core/errors.js';
import { Lifecycle, runUntilSignal } from '../../../core/lifecycle.js';
import { createLogger } from '../../../core/log.js';
import { createTopicCatalogue } from '../../../core/topics.js';
import { createConsumptionProcess } from '../main.js';

const prefix = process.argv[2];
if (prefix === undefined || prefix === '') {
  process.stderr.write('usage: consumption-process.ts <prefix>\n');
  process.exit(2);
}

const config = loadConfig(process.env);
const logger = createLogger({ level: config.log.level, name: 'consumption-test-process', destination: process.stderr });
const consumption = createConsumptionProcess({
  config,
  logger,
  catalogue: createTopicCatalogue({ prefix, partitions: 3 }),
  metrics: new Registry(),
  prefix,
  timerIntervalMs: 200,
});
const lifecycle = new Lifecycle(
  [...consumption.components, { name: 'ready-line', start: async () => void process.stdout.write('ready\n'), stop: async () => undefined }],
  { logger },
);
runUntilSignal(lifecycle, { logger, graceMs: config.shutdown.graceMs }).catch((err: unknown) => {
  process.stderr.write(`${errorMessage(err)}\n`);
  process.exit(1);
});
