/**
 * The decode process under a test prefix, for end-to-end and crash tests:
 * `node --import tsx streams/decode/testing/decode-process.ts <prefix>` decodes `<prefix>uplink.raw.v1`
 * (3 partitions) with groups, changelog and Redis keys under the same prefix, reading the common
 * variables (DEVICE_KEY_ENCRYPTION_KEY among them) from the environment. It writes `ready` on stdout
 * once every component has started and stops on SIGTERM or SIGINT; crash tests kill it with SIGKILL.
 * Started with `node --import tsx` rather than the tsx binary, whose grandchild a SIGKILL would miss.
 */
import { Registry } from 'prom-client';
import { loadConfig } from '../../../core/config.js';
import { errorMessage } from '../../../core/errors.js';
import { Lifecycle, runUntilSignal } from '../../../core/lifecycle.js';
import { createLogger } from '../../../core/log.js';
import { createTopicCatalogue } from '../../../core/topics.js';
import { createDecodeProcess } from '../main.js';

const prefix = process.argv[2];
if (prefix === undefined || prefix === '') {
  process.stderr.write('usage: decode-process.ts <prefix>\n');
  process.exit(2);
}

const config = loadConfig(process.env);
const logger = createLogger({ level: config.log.level, name: 'decode-test-process', destination: process.stderr });
const decode = createDecodeProcess({
  config,
  logger,
  catalogue: createTopicCatalogue({ prefix, partitions: 3 }),
  metrics: new Registry(),
  prefix,
});
const lifecycle = new Lifecycle(
  [...decode.components, { name: 'ready-line', start: async () => void process.stdout.write('ready\n'), stop: async () => undefined }],
  { logger },
);
runUntilSignal(lifecycle, { logger, graceMs: config.shutdown.graceMs }).catch((err: unknown) => {
  process.stderr.write(`${errorMessage(err)}\n`);
  process.exit(1);
});
