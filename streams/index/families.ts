/**
 * Which topics feed which index type, and the consumer group that reads each topic.
 *
 * Each topic has its own consumers and so its own group: the core RecordConsumer reads one topic,
 * and kafkajs's round-robin assigner spreads the partitions of every topic subscribed in a group
 * over all its members, whatever each member subscribed to, so consumers of different topics must
 * never share a group. A family with one topic uses the group `index-{type}`; a family with
 * several uses `index-{type}.{topic}`.
 */
import type { TopicCatalogue, TopicSpec } from '../../core/topics.js';
import type { RecordOfIndex } from './documents.js';
import type { IndexType } from './index-names.js';

/** One topic the worker indexes, where its unusable records go, and the group that reads it. */
export interface TopicBinding<T extends IndexType = IndexType> {
  readonly type: T;
  readonly topic: TopicSpec<RecordOfIndex[T]>;
  /**
   * Dead-letter topic for records that cannot be decoded or indexed. For a dead-letter topic
   * (rejects) it is the topic itself: the new dead letter wraps the one that failed, and a fresh
   * dead letter has nothing left that could fail the same way.
   */
  readonly dlq: TopicSpec<'DeadLetter'>;
  readonly groupId: string;
}

/** The topics of each index type in `catalogue`. */
export function familyTopics(catalogue: TopicCatalogue): { readonly [T in IndexType]: readonly TopicSpec<RecordOfIndex[T]>[] } {
  return {
    readings: [catalogue.readings],
    devices: [catalogue.devices],
    consumption: [catalogue.consumptionDaily, catalogue.consumptionMonthly],
    concentrations: [catalogue.concentrationHourly, catalogue.concentrationDaily],
    footprint: [catalogue.footprintMonthly],
    alerts: [catalogue.alerts],
    rejects: catalogue.all.filter((topic): topic is TopicSpec<'DeadLetter'> => topic.record === 'DeadLetter'),
  };
}

/** Every topic binding of the given types, with group ids under `groupIdPrefix`. */
export function topicBindings(catalogue: TopicCatalogue, types: readonly IndexType[], groupIdPrefix: string): TopicBinding[] {
  const topics = familyTopics(catalogue);
  return types.flatMap((type) =>
    topics[type].map((topic: TopicSpec<RecordOfIndex[typeof type]>) => ({
      type,
      topic,
      dlq: topic.record === 'DeadLetter' ? (topic as TopicSpec<'DeadLetter'>) : catalogue.dlqOf(topic),
      groupId: `${groupIdPrefix}index-${type}${topics[type].length > 1 ? `.${topic.name}` : ''}`,
    })) as TopicBinding[],
  );
}
