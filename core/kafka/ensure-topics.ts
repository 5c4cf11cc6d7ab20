/**
 * Creates the catalogue's topics on the broker, idempotently: missing topics are created, topics
 * with fewer partitions than declared are grown, and declared configs that drifted are set back.
 * Partitions are never reduced (Kafka cannot), and a shrink request is reported instead.
 */
import type { TopicSpec } from '../topics.js';
import type { Admin } from './client.js';

/** What {@link ensureTopics} changed. */
export interface EnsureTopicsReport {
  readonly created: string[];
  readonly grown: string[];
  readonly reconfigured: string[];
  /** Topics that have more partitions than declared (left as they are). */
  readonly wider: string[];
}

export async function ensureTopics(admin: Admin, topics: readonly TopicSpec[], replicationFactor: number): Promise<EnsureTopicsReport> {
  const created = await admin.createTopics(
    topics.map((t) => ({ name: t.name, partitions: t.partitions, replicationFactor, configs: t.configs })),
  );
  const report: EnsureTopicsReport = { created, grown: [], reconfigured: [], wider: [] };
  const existing = topics.filter((t) => !created.includes(t.name));
  if (existing.length === 0) return report;
  const described = new Map((await admin.describeTopics(existing.map((t) => t.name))).map((d) => [d.name, d.partitions]));
  for (const topic of existing) {
    const partitions = described.get(topic.name) ?? topic.partitions;
    if (partitions < topic.partitions) {
      await admin.addPartitions(topic.name, topic.partitions);
      report.grown.push(topic.name);
    } else if (partitions > topic.partitions) {
      report.wider.push(topic.name);
    }
    const actual = await admin.topicConfigs(topic.name, Object.keys(topic.configs));
    if (Object.entries(topic.configs).some(([key, value]) => actual[key] !== value)) {
      await admin.alterTopicConfigs(topic.name, topic.configs);
      report.reconfigured.push(topic.name);
    }
  }
  return report;
}
