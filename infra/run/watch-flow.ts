/**
 * `make run`'s window onto the pipeline: tails every catalogue topic from now on and prints, every
 * few seconds, how many records each topic received and what the latest one was. Read-only: it
 * joins no worker's consumer group.
 */
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/log.js';
import { createKafkaClient } from '../../core/kafka/client.js';
import { createRegistryCodec } from '../../core/avro/registry-codec.js';
import { createTopicCatalogue, type TopicSpec } from '../../core/topics.js';
import { errorMessage } from '../../core/errors.js';
import type { RecordTypes } from '../../schemas/avro/index.js';

const INTERVAL_MS = Number(process.env['WATCH_INTERVAL_MS'] ?? 5000);

type Summaries = { [R in keyof RecordTypes]: (value: RecordTypes[R]) => string };
const SUMMARIES: Summaries = {
  RawUplink: (v) => `${v.transport} ${v.payloadFormat} ${v.deviceId} (${v.payload.length} bytes)`,
  Reading: (v) => `${v.deviceId} ${v.registerKey} = ${v.value} ${v.unit}`,
  Device: (v) => `${v.deviceId} ${v.change} ${v.status}`,
  Consumption: (v) => `${v.registerId} ${v.localPeriod} Δ ${v.delta ?? 'open'} ${v.unit} ${v.status} r${v.revision}`,
  Concentration: (v) => `${v.stationId} ${v.gas} ${v.meanPpm.toFixed(2)} ppm ${v.meanMgPerM3.toFixed(3)} mg/m³`,
  Footprint: (v) => `${v.organisationId} ${v.month} ${v.scope} ${v.emissionsKgCo2e} kg CO₂e`,
  Alert: (v) => `${v.kind} ${v.state} ${v.deviceId}: ${v.message}`,
  DeadLetter: (v) => `${v.reasonCode} at ${v.stage}: ${v.reasonMessage.slice(0, 70)}`,
};

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: 'warn', name: 'watch-flow' });
  const kafka = createKafkaClient(config.kafka, logger);
  const codec = createRegistryCodec(config.schemaRegistry.url);
  const catalogue = createTopicCatalogue({ partitions: config.kafka.partitions });
  const counts = new Map<string, number>(catalogue.all.map((t) => [t.name, 0]));
  const latest = new Map<string, string>();

  const consumer = kafka.consumer({ groupId: `watch-flow-${process.pid}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe(catalogue.all.map((t) => t.name), { fromBeginning: false });
  await consumer.run({
    eachBatch: async (batch) => {
      const topic = catalogue.byName(batch.topic) as TopicSpec | undefined;
      if (!topic) return;
      counts.set(topic.name, (counts.get(topic.name) ?? 0) + batch.messages.length);
      const last = batch.messages.at(-1);
      if (!last) return;
      try {
        const { value } = await codec.decode(topic.record, last.value);
        latest.set(topic.name, (SUMMARIES[topic.record] as (v: unknown) => string)(value));
      } catch (err) {
        latest.set(topic.name, `(undecodable: ${errorMessage(err)})`);
      }
    },
  });

  const width = Math.max(...catalogue.all.map((t) => t.name.length));
  const timer = setInterval(() => {
    const lines = [`\n── meterflux flow at ${new Date().toISOString()} (records since start; Ctrl-C stops) ──`];
    for (const topic of catalogue.all) {
      const count = counts.get(topic.name) ?? 0;
      lines.push(`${topic.name.padEnd(width)}  ${String(count).padStart(8)}  ${latest.get(topic.name) ?? ''}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }, INTERVAL_MS);

  const stop = () => {
    clearInterval(timer);
    void consumer.disconnect().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`watch-flow failed: ${errorMessage(err)}\n`);
  process.exit(1);
});
