import { describe, expect, it } from 'vitest';
import { createTopicCatalogue } from '../../core/topics.js';
import {
  boundOffsets,
  isRunId,
  newRunId,
  nextGeneration,
  parseOffsets,
  parseTime,
  partitionRanges,
  rangeCount,
  runNames,
  runPrefix,
  sourceFamily,
  type PartitionBounds,
} from './plan.js';

const partitions: PartitionBounds[] = [
  { partition: 1, low: '100', high: '500' },
  { partition: 0, low: '0', high: '300' },
  { partition: 2, low: '0', high: '0' },
];

describe('replay range math', () => {
  it('reads the whole of every partition from start to end', () => {
    const ranges = partitionRanges(partitions, boundOffsets({ kind: 'start' }, partitions), boundOffsets({ kind: 'end' }, partitions));
    expect(ranges).toEqual([
      { partition: 0, from: '0', to: '300' },
      { partition: 1, from: '100', to: '500' },
      { partition: 2, from: '0', to: '0' },
    ]);
    expect(rangeCount(ranges)).toBe(700);
  });

  it('clamps offsets into what each partition still holds and what it has been written', () => {
    const from = boundOffsets({ kind: 'offset', offsets: 50n }, partitions);
    const to = boundOffsets({ kind: 'offset', offsets: 400n }, partitions);
    expect(partitionRanges(partitions, from, to)).toEqual([
      { partition: 0, from: '50', to: '300' },
      // Offsets below 100 were deleted by retention: the range starts where the partition does.
      { partition: 1, from: '100', to: '400' },
      { partition: 2, from: '0', to: '0' },
    ]);
  });

  it('gives an empty range, never a negative one, when the end is before the start', () => {
    const ranges = partitionRanges(partitions, new Map([[0, 200n]]), new Map([[0, 150n]]));
    expect(ranges[0]).toEqual({ partition: 0, from: '200', to: '200' });
    expect(rangeCount(ranges)).toBe(400);
  });

  it('reads partitions a per-partition bound does not name whole on that side', () => {
    const from = boundOffsets({ kind: 'offset', offsets: parseOffsets('1:250') }, partitions);
    expect(partitionRanges(partitions, from, boundOffsets({ kind: 'end' }, partitions)).map((r) => r.from)).toEqual(['0', '250', '0']);
    expect(() => boundOffsets({ kind: 'offset', offsets: parseOffsets('7:1') }, partitions)).toThrow('the topic has no partition 7 (it has 0 to 2)');
  });

  it('resolves a time per partition to the offsets the admin found, and to the end where it found none', () => {
    const at = boundOffsets({ kind: 'time', at: Date.parse('2026-03-01T00:00:00Z') }, partitions, [
      { partition: 0, offset: '120' },
      { partition: 1, offset: '500' },
    ]);
    expect([...at]).toEqual([[1, 500n], [0, 120n], [2, 0n]]);
    expect(() => boundOffsets({ kind: 'time', at: 0 }, partitions)).toThrow('needs the offsets');
  });

  it('parses offsets for every partition or per partition, and refuses anything else', () => {
    expect(parseOffsets('1200')).toBe(1200n);
    expect([...(parseOffsets('0:1200, 3:800') as Map<number, bigint>)]).toEqual([[0, 1200n], [3, 800n]]);
    expect(() => parseOffsets('0:1,0:2')).toThrow('partition 0 is given twice');
    expect(() => parseOffsets('-5')).toThrow('an offset must be a number or partition:offset pairs');
  });

  it('parses times with a zone and plain dates as UTC midnight, and refuses times without a zone', () => {
    expect(parseTime('2026-03-01')).toBe(Date.parse('2026-03-01T00:00:00Z'));
    expect(parseTime('2026-03-01T03:00+03:00')).toBe(Date.parse('2026-03-01T00:00:00Z'));
    expect(parseTime('2026-03-01T00:00:00.500Z')).toBe(Date.parse('2026-03-01T00:00:00.500Z'));
    expect(() => parseTime('2026-03-01T00:00')).toThrow('ISO-8601 with a zone');
    expect(() => parseTime('yesterday')).toThrow('ISO-8601 with a zone');
  });
});

describe('replay planning', () => {
  const live = createTopicCatalogue({ prefix: 'it-1.' });

  it('sends raw input through decode, consumption and concentration, and leaves rejects live', () => {
    const family = sourceFamily(live, 'it-1.uplink.raw.v1');
    expect(family.decode).toBe(true);
    expect(family.topics.map((t) => t.name)).toEqual(['it-1.uplink.raw.v1']);
    expect(family.indexTypes).toEqual(['readings', 'devices', 'alerts', 'consumption', 'concentrations']);
  });

  it('re-indexes a derived topic together with the other topics of its index type', () => {
    expect(sourceFamily(live, 'it-1.consumption.monthly.v1')).toMatchObject({ decode: false, indexTypes: ['consumption'] });
    expect(sourceFamily(live, 'it-1.consumption.monthly.v1').topics.map((t) => t.name)).toEqual([
      'it-1.consumption.daily.v1',
      'it-1.consumption.monthly.v1',
    ]);
    expect(sourceFamily(live, 'it-1.reading.v1')).toMatchObject({ decode: false, indexTypes: ['readings'] });
    expect(() => sourceFamily(live, 'it-1.uplink.raw.v1.dlq')).toThrow(/cannot replay "it-1.uplink.raw.v1.dlq": replayable topics are it-1.uplink.raw.v1, it-1.reading.v1/);
  });

  it('names everything a run creates under its own prefix, so live consumers are never touched', () => {
    const prefix = runPrefix('20260301-120000-ab12');
    expect(prefix).toBe('replay-20260301-120000-ab12.');
    const replay = createTopicCatalogue({ prefix: `${prefix}it-1.` });
    const names = runNames(replay, prefix, sourceFamily(live, 'it-1.uplink.raw.v1'), 3);
    expect(names.topics).toContain(`${prefix}it-1.uplink.raw.v1`);
    expect(names.topics).toContain(`${prefix}it-1.reading.v1`);
    expect(names.topics).toContain(`${prefix}decode.changelog.v1`);
    expect(names.topics).toEqual(expect.arrayContaining([`${prefix}consumption.changelog.v1`, `${prefix}concentration.changelog.v1`, `${prefix}it-1.consumption.monthly.v1`]));
    expect(names.groups).toEqual(expect.arrayContaining([`${prefix}consumption`, `${prefix}concentration`]));
    expect(names.transactionalIds).toContain(`${prefix}consumption.${prefix}it-1.reading.v1.{0..2}`);
    for (const name of [...names.topics, ...names.groups, ...names.transactionalIds]) expect(name.startsWith(prefix)).toBe(true);
  });

  it('builds the generation above every live one and above any left-over indices', () => {
    expect(nextGeneration({}, [], ['readings'])).toBe(2);
    expect(nextGeneration({ readings: 3, devices: 1 }, [1, 3], ['readings', 'devices'])).toBe(4);
    expect(nextGeneration({ readings: 2 }, [2, 5], ['readings'])).toBe(6);
  });

  it('makes run ids that sort by creation and can prefix topic names', () => {
    const id = newRunId(Date.parse('2026-03-01T12:34:56Z'), 'Ab-9z7');
    expect(id).toBe('20260301-123456-ab9z');
    expect(isRunId(id)).toBe(true);
    expect(isRunId('Bad.Id')).toBe(false);
  });
});
