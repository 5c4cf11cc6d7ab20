/**
 * What the replay command keeps in PostgreSQL (migration 0009): its runs, so `run` can be resumed
 * and `compare`, `switch` and `discard` find what a run built; and the live index generation of
 * each index type, which `switch` records and the index worker reads at start.
 */
import type { IndexType } from '../index/index-names.js';
import { isIndexType, type TopicRange } from './plan.js';

/** Something that runs parameterised SQL: a pg Pool or a connected client. */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** Where a run is: planned → running → built → switched, or discarded from any of them. */
export type RunState = 'planned' | 'running' | 'built' | 'switched' | 'discarded';

/** A replay run as recorded. */
export interface ReplayRun {
  readonly runId: string;
  /** Prefix of the run's topics, groups, changelogs and transactional ids. */
  readonly topicPrefix: string;
  /** Prefix of the live indices and aliases (INDEX_PREFIX). */
  readonly indexPrefix: string;
  /** Live topics read. */
  readonly sources: readonly string[];
  readonly ranges: readonly TopicRange[];
  readonly indexTypes: readonly IndexType[];
  /** Generation built. */
  readonly generation: number;
  readonly state: RunState;
}

interface RunRow {
  run_id: string;
  topic_prefix: string;
  index_prefix: string;
  sources: string[];
  ranges: TopicRange[];
  index_types: string[];
  generation: number;
  state: RunState;
}

const toRun = (row: RunRow): ReplayRun => ({
  runId: row.run_id,
  topicPrefix: row.topic_prefix,
  indexPrefix: row.index_prefix,
  sources: row.sources,
  ranges: row.ranges,
  indexTypes: row.index_types.filter(isIndexType),
  generation: row.generation,
  state: row.state,
});

/** Records a new run in state `planned`. @throws pg's unique violation when the id is taken. */
export async function insertRun(db: Queryable, run: Omit<ReplayRun, 'state'>): Promise<ReplayRun> {
  await db.query(
    `INSERT INTO replay_runs (run_id, topic_prefix, index_prefix, sources, ranges, index_types, generation, state)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, 'planned')`,
    [run.runId, run.topicPrefix, run.indexPrefix, run.sources, JSON.stringify(run.ranges), run.indexTypes, run.generation],
  );
  return { ...run, state: 'planned' };
}

/** The run, or undefined. */
export async function findRun(db: Queryable, runId: string): Promise<ReplayRun | undefined> {
  const { rows } = await db.query<RunRow>('SELECT * FROM replay_runs WHERE run_id = $1', [runId]);
  return rows[0] === undefined ? undefined : toRun(rows[0]);
}

/** Generations of runs under `indexPrefix` that are not discarded: their indices may exist. */
export async function activeRunGenerations(db: Queryable, indexPrefix: string): Promise<number[]> {
  const { rows } = await db.query<{ generation: number }>(
    "SELECT DISTINCT generation FROM replay_runs WHERE index_prefix = $1 AND state <> 'discarded'",
    [indexPrefix],
  );
  return rows.map((r) => r.generation);
}

/**
 * Moves the run to `state` when it is in one of `from`; returns whether it moved (false: it was
 * elsewhere, e.g. discarded meanwhile).
 */
export async function moveRun(db: Queryable, runId: string, from: readonly RunState[], state: RunState): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE replay_runs SET state = $3, updated_at = now() WHERE run_id = $1 AND state = ANY($2::text[])',
    [runId, from, state],
  );
  return (rowCount ?? 0) > 0;
}

/** The live generation of each index type under `indexPrefix` that was ever switched. */
export async function liveGenerations(db: Queryable, indexPrefix: string): Promise<Partial<Record<IndexType, number>>> {
  const { rows } = await db.query<{ index_type: string; generation: number }>(
    'SELECT index_type, generation FROM index_generations WHERE index_prefix = $1',
    [indexPrefix],
  );
  return Object.fromEntries(rows.filter((r) => isIndexType(r.index_type)).map((r) => [r.index_type, r.generation]));
}

/** Records `generation` as live for `types`, keeping the one it replaces as `previous_generation`. */
export async function recordLiveGenerations(db: Queryable, indexPrefix: string, types: readonly IndexType[], generation: number, runId: string): Promise<void> {
  await db.query(
    `INSERT INTO index_generations (index_prefix, index_type, generation, previous_generation, run_id)
     SELECT $1, t, $3, 1, $4 FROM unnest($2::text[]) AS t
     ON CONFLICT (index_prefix, index_type) DO UPDATE
       SET previous_generation = CASE WHEN index_generations.generation = EXCLUDED.generation
                                      THEN index_generations.previous_generation ELSE index_generations.generation END,
           generation = EXCLUDED.generation, run_id = EXCLUDED.run_id, switched_at = now()`,
    [indexPrefix, types, generation, runId],
  );
}
