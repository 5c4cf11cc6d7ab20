/**
 * The footprint worker's state, per partition of `footprint.consumption-by-organisation.v1`, in
 * `footprint.changelog.v1` (JSON):
 *
 * | key | value |
 * | --- | --- |
 * | `{organisationId}` | {@link OrganisationState}: its months, those with unwritten changes, those waiting for registers, and the factor table version they were last computed with |
 * | `{organisationId}\|{month}` | {@link MonthState}: the month's latest line per register, and per scope the last record's revision and content |
 */
import { jsonStateCodec, type StateCodec } from '../runtime/state-codec.js';
import type { ConsumptionLine, Scope, ScopeMark } from './compute.js';

export interface MonthState {
  readonly kind: 'month';
  readonly organisationId: string;
  /** `YYYY-MM`. */
  readonly month: string;
  readonly lines: Readonly<Record<string, ConsumptionLine>>;
  readonly scopes: Readonly<Partial<Record<Scope, ScopeMark>>>;
}

export interface OrganisationState {
  readonly kind: 'organisation';
  /** Months held, ascending. */
  readonly months: readonly string[];
  /** Months with consumption changes not yet written, ascending. */
  readonly changed: readonly string[];
  /**
   * Months whose lines are all FINAL but that are not yet written FINAL because a register of the
   * organisation has no line in them (or the registry did not answer): checked again at every
   * check, so a register retired in PostgreSQL releases them. Ascending; absent in state written
   * before this field (none).
   */
  readonly waiting?: readonly string[];
  /** Digest of the factor table the months were last checked against. */
  readonly factorsVersion: string;
  /** When the months were last checked against the factor table (wall clock), epoch ms. */
  readonly checkedAt: number;
}

export type FootprintState = MonthState | OrganisationState;

export const footprintStateCodec: StateCodec<FootprintState> = jsonStateCodec<FootprintState>();

export const monthKey = (organisationId: string, month: string): string => `${organisationId}|${month}`;
