/**
 * Names of the Elasticsearch indices, aliases and templates the indexing worker writes.
 *
 * Every record type has a read alias `{prefix}{type}` that readers (the API) query. Behind it are
 * the indices of one generation: `{prefix}{type}-v{N}`, or for readings one index per calendar
 * month (UTC) of `observedAt`, `{prefix}readings-v{N}-{yyyy.mm}`. A replay builds generation N+1
 * beside the live one and then moves the alias with `swapAlias`, so readers never see a half-built
 * index.
 */
import { ConfigError } from '../../core/errors.js';

/** The record types indexed, one read alias each; also the names of the worker's topic families. */
export const INDEX_TYPES = ['readings', 'devices', 'consumption', 'concentrations', 'footprint', 'alerts', 'rejects'] as const;

/** One of {@link INDEX_TYPES}. */
export type IndexType = (typeof INDEX_TYPES)[number];

/** Types with one index per month of event time rather than one per generation. */
const MONTHLY: ReadonlySet<IndexType> = new Set(['readings']);

/** Whether `type` is split into monthly indices. */
export function isMonthly(type: IndexType): boolean {
  return MONTHLY.has(type);
}

/** Where a set of indices lives: a name prefix (per test, per environment) and the index generation. */
export interface IndexNaming {
  /**
   * Prepended to every index, alias and template name, e.g. `it-3f9a1c.` in a test.
   * Lowercase; must not contain `\ / * ? " < > | , #` or spaces, nor start with `-`, `_` or `+`.
   */
  readonly prefix: string;
  /** Index generation N, a positive integer: `v{N}` in every index name. */
  readonly generation: number;
}

/** The alias readers query for `type`: `{prefix}{type}`, spanning every index of the live generation. */
export function readAlias(prefix: string, type: IndexType): string {
  return `${prefix}${type}`;
}

/** The index of a non-monthly type: `{prefix}{type}-v{N}`. */
export function generationIndex(naming: IndexNaming, type: IndexType): string {
  return `${naming.prefix}${type}-v${naming.generation}`;
}

/**
 * The monthly index holding a document whose event time is `epochMs`:
 * `{prefix}{type}-v{N}-{yyyy.mm}`, month in UTC so the name does not depend on a site's zone.
 *
 * @throws RangeError when `epochMs` is not a time in the years 0000–9999.
 */
export function monthlyIndex(naming: IndexNaming, type: IndexType, epochMs: number): string {
  const date = new Date(epochMs);
  const year = date.getUTCFullYear();
  if (!Number.isFinite(year) || year < 0 || year > 9999) {
    throw new RangeError(`${epochMs} is not an epoch-milliseconds time in the years 0000 to 9999`);
  }
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  return `${generationIndex(naming, type)}-${String(year).padStart(4, '0')}.${month}`;
}

/**
 * Every index of `type` in one generation, as an index pattern: `{prefix}readings-v{N}-*` for
 * monthly types, the exact index name otherwise. Used for templates and alias swaps.
 */
export function generationPattern(naming: IndexNaming, type: IndexType): string {
  return isMonthly(type) ? `${generationIndex(naming, type)}-*` : generationIndex(naming, type);
}

/** Name of the composable index template of one type and generation. */
export function templateName(naming: IndexNaming, type: IndexType): string {
  return `${naming.prefix}meterflux-${type}-v${naming.generation}`;
}

/**
 * Checks a prefix and generation before any name is built from them, so a bad setting fails at
 * start-up instead of as a rejected bulk request.
 *
 * @throws {ConfigError} naming each problem.
 */
export function assertIndexNaming(naming: IndexNaming): void {
  const problems: string[] = [];
  if (!/^[a-z0-9.][a-z0-9._-]*$|^$/.test(naming.prefix) || naming.prefix === '.' || naming.prefix === '..') {
    problems.push(
      `index prefix must be lowercase letters, digits, ".", "_" or "-", not starting with "_" or "-", got ${JSON.stringify(naming.prefix)}`,
    );
  }
  if (!Number.isSafeInteger(naming.generation) || naming.generation < 1) {
    problems.push(`index generation must be a positive integer, got ${String(naming.generation)}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
}
