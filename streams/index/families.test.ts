import { describe, expect, it } from 'vitest';
import { createTopicCatalogue } from '../../core/topics.js';
import { topicBindings } from './families.js';
import { INDEX_TYPES } from './index-names.js';

describe('topic families', () => {
  const catalogue = createTopicCatalogue();

  it('reads every data topic but raw uplinks, and every dead-letter topic, each with its own group', () => {
    const bindings = topicBindings(catalogue, INDEX_TYPES, '');
    expect(bindings.map((b) => [b.type, b.topic.name, b.dlq.name, b.groupId])).toEqual([
      ['readings', 'reading.v1', 'reading.v1.dlq', 'index-readings'],
      ['devices', 'device.v1', 'device.v1.dlq', 'index-devices'],
      ['consumption', 'consumption.daily.v1', 'consumption.daily.v1.dlq', 'index-consumption.consumption.daily.v1'],
      ['consumption', 'consumption.monthly.v1', 'consumption.monthly.v1.dlq', 'index-consumption.consumption.monthly.v1'],
      ['concentrations', 'concentration.hourly.v1', 'concentration.hourly.v1.dlq', 'index-concentrations.concentration.hourly.v1'],
      ['concentrations', 'concentration.daily.v1', 'concentration.daily.v1.dlq', 'index-concentrations.concentration.daily.v1'],
      ['footprint', 'footprint.monthly.v1', 'footprint.monthly.v1.dlq', 'index-footprint'],
      ['alerts', 'alert.v1', 'alert.v1.dlq', 'index-alerts'],
      ...catalogue.all
        .filter((t) => t.record === 'DeadLetter')
        .map((t) => ['rejects', t.name, t.name, `index-rejects.${t.name}`]),
    ]);
    expect(bindings.filter((b) => b.type === 'rejects')).toHaveLength(catalogue.all.length / 2);
    expect(new Set(bindings.map((b) => b.groupId)).size).toBe(bindings.length);
  });

  it('puts the group prefix in front of every group id and takes topic names from the catalogue', () => {
    const prefixed = createTopicCatalogue({ prefix: 'it-1.' });
    expect(topicBindings(prefixed, ['readings', 'consumption'], 'it-1.').map((b) => [b.topic.name, b.groupId])).toEqual([
      ['it-1.reading.v1', 'it-1.index-readings'],
      ['it-1.consumption.daily.v1', 'it-1.index-consumption.it-1.consumption.daily.v1'],
      ['it-1.consumption.monthly.v1', 'it-1.index-consumption.it-1.consumption.monthly.v1'],
    ]);
  });
});
