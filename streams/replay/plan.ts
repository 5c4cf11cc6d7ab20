/**
 * Replay planning, without I/O: which live topics a replay reads, the offset range of each
 * partition, what it rebuilds (its own derived topics under a run prefix, index generation N+1),
 * and the names of everything it creates, so `plan` can show them and `discard` can delete them.
 */
import { INDEX_TYPES, type IndexType } from '../index/index-names.js';
import type { TopicCatalogue, TopicSpec } from '../../core/topics.js';

/** Where a partition starts (low) and where the next write goes (high), as the admin reports them. */
export interface PartitionBounds {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
}

/**
 * One end of a range: the start or end of the topic, an offset (every partition the same, or per
 * partition), or a time, resolved per partition to the first record at or after it.
 */
export type RangeBound =
  | { readonly kind: 'start' }
  | { readonly kind: 'end' }
  | { readonly kind: 'offset'; readonly offsets: ReadonlyMap<number, bigint> | bigint }
  | { readonly kind: 'time'; readonly at: number };

/** The records of one partition a replay reads: offsets `from` (inclusive) to `to` (exclusive). */
export interface PartitionRange {
  readonly partition: number;
  readonly from: string;
  readonly to: string;
}

/** The ranges of one topic. */
export interface TopicRange {
  readonly topic: string;
  readonly partitions: readonly PartitionRange[];
}

/**
 * Offsets of `bound` per partition. `timeOffsets` is the admin's answer for a `time` bound: per
 * partition the first offset at or after the time, or the high watermark.
 *
 * @throws TypeError when a `time` bound comes without `timeOffsets`, or a per-partition offset
 *   names a partition the topic does not have.
 */
export function boundOffsets(
  bound: RangeBound,
  partitions: readonly PartitionBounds[],
  timeOffsets?: ReadonlyArray<{ partition: number; offset: string }>,
): Map<number, bigint> {
  const out = new Map<number, bigint>();
  if (bound.kind === 'offset' && typeof bound.offsets !== 'bigint') {
    const known = new Set(partitions.map((p) => p.partition));
    const unknown = [...bound.offsets.keys()].filter((p) => !known.has(p));
    if (unknown.length > 0) throw new TypeError(`the topic has no partition ${unknown.join(', ')} (it has 0 to ${partitions.length - 1})`);
  }
  for (const p of partitions) {
    switch (bound.kind) {
      case 'start':
        out.set(p.partition, BigInt(p.low));
        break;
      case 'end':
        out.set(p.partition, BigInt(p.high));
        break;
      case 'offset': {
        const offset = typeof bound.offsets === 'bigint' ? bound.offsets : bound.offsets.get(p.partition);
        // A partition not named in a per-partition bound is read whole on that side.
        if (offset !== undefined) out.set(p.partition, offset);
        break;
      }
      case 'time': {
        if (timeOffsets === undefined) throw new TypeError('a time bound needs the offsets the admin found for that time');
        const found = timeOffsets.find((o) => o.partition === p.partition);
        out.set(p.partition, BigInt(found?.offset ?? p.high));
        break;
      }
    }
  }
  return out;
}

const clamp = (value: bigint, low: bigint, high: bigint): bigint => (value < low ? low : value > high ? high : value);

/**
 * Each partition's range: `from` and `to` clamped into what the partition holds (records already
 * deleted by retention cannot be replayed; records not yet written are not part of the plan), and
 * an empty range where `to` is before `from`. A partition missing from `from` starts at its low
 * offset, one missing from `to` ends at its high watermark.
 */
export function partitionRanges(
  partitions: readonly PartitionBounds[],
  from: ReadonlyMap<number, bigint>,
  to: ReadonlyMap<number, bigint>,
): PartitionRange[] {
  return [...partitions]
    .sort((a, b) => a.partition - b.partition)
    .map((p) => {
      const low = BigInt(p.low);
      const high = BigInt(p.high);
      const start = clamp(from.get(p.partition) ?? low, low, high);
      const end = clamp(to.get(p.partition) ?? high, low, high);
      return { partition: p.partition, from: String(start), to: String(end < start ? start : end) };
    });
}

/**
 * Records in the ranges. An upper bound: offsets of transaction markers and of aborted records
 * count too, though they are never replayed.
 */
export function rangeCount(ranges: ReadonlyArray<PartitionRange>): number {
  return ranges.reduce((sum, r) => sum + Number(BigInt(r.to) - BigInt(r.from)), 0);
}

/**
 * Parses an offset bound from the command line: `1200` for every partition, or
 * `0:1200,3:800` per partition.
 *
 * @throws TypeError naming what was expected.
 */
export function parseOffsets(text: string): ReadonlyMap<number, bigint> | bigint {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return BigInt(trimmed);
  const out = new Map<number, bigint>();
  for (const part of trimmed.split(',')) {
    const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(part);
    if (!match) throw new TypeError(`an offset must be a number or partition:offset pairs such as 0:1200,3:800, got "${text}"`);
    const partition = Number(match[1]);
    if (out.has(partition)) throw new TypeError(`partition ${partition} is given twice in "${text}"`);
    out.set(partition, BigInt(match[2]!));
  }
  return out;
}

/**
 * Parses a time bound: an ISO-8601 time with a zone (`2026-03-01T00:00:00Z`, `2026-03-01T03:00+03:00`)
 * or a date (`2026-03-01`, midnight UTC).
 *
 * @throws TypeError for anything else.
 */
export function parseTime(text: string): number {
  const trimmed = text.trim();
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(trimmed);
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(trimmed);
  const at = dateOnly || withZone ? Date.parse(dateOnly ? `${trimmed}T00:00:00Z` : trimmed) : Number.NaN;
  if (Number.isNaN(at)) throw new TypeError(`a time must be ISO-8601 with a zone (2026-03-01T00:00:00Z) or a date (2026-03-01), got "${text}"`);
  return at;
}

/** What replaying one kind of source rebuilds. */
export interface SourceFamily {
  /** Live topics read (and copied into the run's own topics). */
  readonly topics: readonly TopicSpec[];
  /**
   * Whether the records go through the current decoders and the workers that derive from readings
   * (consumption, concentration), as raw input does, or straight to the index.
   */
  readonly decode: boolean;
  /** Index types given a new generation. */
  readonly indexTypes: readonly IndexType[];
}

/**
 * The family of a live topic: raw input goes through decode into readings, devices and alerts, and
 * those readings through consumption and concentration into their records;
 * a derived topic is indexed again (with every other topic of its index type, so the new generation
 * of that type is whole). Rejects are not rebuilt: the live dead letters include what connectors
 * refused, which no replay reproduces.
 *
 * @throws TypeError for a topic that is not in the catalogue or cannot be replayed.
 */
export function sourceFamily(catalogue: TopicCatalogue, topicName: string): SourceFamily {
  const c = catalogue;
  if (topicName === c.rawUplinks.name) {
    return { topics: [c.rawUplinks], decode: true, indexTypes: ['readings', 'devices', 'alerts', 'consumption', 'concentrations'] };
  }
  const families: Array<[IndexType, TopicSpec[]]> = [
    ['readings', [c.readings]],
    ['devices', [c.devices]],
    ['alerts', [c.alerts]],
    ['consumption', [c.consumptionDaily, c.consumptionMonthly]],
    ['concentrations', [c.concentrationHourly, c.concentrationDaily]],
    ['footprint', [c.footprintMonthly]],
  ];
  for (const [type, topics] of families) {
    if (topics.some((t) => t.name === topicName)) return { topics, decode: false, indexTypes: [type] };
  }
  const replayable = [c.rawUplinks, ...families.flatMap(([, topics]) => topics)].map((t) => t.name);
  throw new TypeError(`cannot replay "${topicName}": replayable topics are ${replayable.join(', ')}`);
}

/** The catalogue prefix of a run's topics, groups, changelogs, transactional ids and Redis keys. */
export function runPrefix(runId: string): string {
  return `replay-${runId}.`;
}

/** Whether `runId` can name a run (and so a topic prefix). */
export function isRunId(runId: string): boolean {
  return /^[a-z0-9][a-z0-9-]{0,39}$/.test(runId);
}

/** A fresh run id, `yyyymmdd-hhmmss-xxxx` (UTC), sortable by creation. */
export function newRunId(now: number, random: string): string {
  const iso = new Date(now).toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${random.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 4)}`;
}

/**
 * The generation a replay builds: one above the highest live generation of its types and above
 * every generation that already has indices (a discarded or abandoned replay's leftovers are never
 * written into).
 */
export function nextGeneration(live: Readonly<Partial<Record<IndexType, number>>>, existing: readonly number[], types: readonly IndexType[]): number {
  return Math.max(1, ...types.map((t) => live[t] ?? 1), ...existing) + 1;
}

/** The consumer group of the copy stage. */
export function stageGroup(prefix: string): string {
  return `${prefix}replay.stage`;
}

/** Every name a run creates besides its indices, for `plan` and `discard`. */
export interface RunNames {
  readonly prefix: string;
  /** The run's copies of the sources, and the derived topics its workers write. */
  readonly topics: readonly string[];
  /** Consumer groups; every one starts with the prefix. */
  readonly groups: readonly string[];
  /** Transactional ids, as patterns. */
  readonly transactionalIds: readonly string[];
}

/** The names of a run whose catalogue (under the run prefix) is `replay`. */
export function runNames(replay: TopicCatalogue, prefix: string, family: SourceFamily, partitions: number): RunNames {
  const sources = family.topics.map((t) => replay.byName(prefix + t.name)!);
  const derived = family.decode
    ? [replay.readings, replay.devices, replay.alerts, replay.consumptionDaily, replay.consumptionMonthly, replay.concentrationHourly, replay.concentrationDaily]
    : [];
  const topics = [...new Set([...sources, ...derived].flatMap((t) => [t.name, replay.dlqOf(t).name]))];
  // The stateful workers of a raw replay, each with the topic it reads.
  const workers = family.decode
    ? [{ name: 'decode', input: replay.rawUplinks }, { name: 'consumption', input: replay.readings }, { name: 'concentration', input: replay.readings }]
    : [];
  for (const worker of workers) topics.push(`${prefix}${worker.name}.changelog.v1`);
  const groups = [stageGroup(prefix), ...workers.map((w) => `${prefix}${w.name}`), ...family.indexTypes.map((t) => `${prefix}index-${t}[.<topic>]`)];
  const last = partitions - 1;
  const transactionalIds = [
    `${stageGroup(prefix)}.<topic>.{0..${last}}`,
    ...workers.map((w) => `${prefix}${w.name}.${w.input.name}.{0..${last}}`),
  ];
  return { prefix, topics, groups, transactionalIds };
}

/** Every index type, for validating names read back from the database. */
export function isIndexType(value: string): value is IndexType {
  return (INDEX_TYPES as readonly string[]).includes(value);
}
