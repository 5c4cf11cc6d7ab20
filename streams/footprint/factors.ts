/**
 * Emission factors from PostgreSQL `emission_factors` and the choice of the one that applies to a
 * register in a month. The table is small (one row per resource, region, period and publication),
 * so the worker holds all of it and asks PostgreSQL for a digest of its content every poll: any
 * insert, update or delete changes the digest, and the table is then read again.
 */
import type pg from 'pg';
import type { Logger } from '../../core/log.js';

/** One version of one factor (a row). */
export interface EmissionFactor {
  readonly id: string;
  /** gas, electricity, heat. */
  readonly resource: string;
  readonly region: string;
  /** kg CO₂e per one `unit`, as an exact decimal string. */
  readonly kgCo2ePerUnit: string;
  readonly unit: string;
  readonly scope: 1 | 2;
  readonly source: string;
  /** `YYYY-MM-DD`, inclusive. */
  readonly validFrom: string;
  /** `YYYY-MM-DD`, inclusive; null while current. */
  readonly validTo: string | null;
  /** The organisation's own factor (its supplier's disclosure), or null for a published one. */
  readonly organisationId: string | null;
}

/** The factors as of one digest of the table. */
export interface FactorTable {
  /** Digest of the table's content; changes with every insert, update or delete. */
  readonly version: string;
  readonly factors: readonly EmissionFactor[];
}

/** What a month's line needs to find its factor. */
export interface FactorQuery {
  readonly resource: string;
  readonly scope: 1 | 2;
  readonly region: string;
  /** `YYYY-MM`. */
  readonly month: string;
  readonly organisationId: string;
}

/**
 * The factor for a register in a month: same resource, scope and region, valid on the month's
 * first day (valid_from ≤ day ≤ valid_to); the organisation's own factor before a published one,
 * then the latest valid_from, then the smallest id, so the choice is the same everywhere.
 */
export function chooseFactor(table: FactorTable, query: FactorQuery): EmissionFactor | undefined {
  const day = `${query.month}-01`;
  let best: EmissionFactor | undefined;
  for (const f of table.factors) {
    if (f.resource !== query.resource || f.scope !== query.scope || f.region !== query.region) continue;
    if (f.validFrom > day || (f.validTo !== null && f.validTo < day)) continue;
    if (f.organisationId !== null && f.organisationId !== query.organisationId) continue;
    if (best === undefined || better(f, best)) best = f;
  }
  return best;
}

function better(a: EmissionFactor, b: EmissionFactor): boolean {
  if ((a.organisationId !== null) !== (b.organisationId !== null)) return a.organisationId !== null;
  if (a.validFrom !== b.validFrom) return a.validFrom > b.validFrom;
  return a.id < b.id;
}

/** The factor table kept current by polling. */
export interface FactorSource {
  /** The table as last read; version `''` before the first read. */
  current(): FactorTable;
  /** Reads the digest, and the table when the digest changed. A throw is retriable. */
  refresh(): Promise<void>;
}

interface Row {
  id: string;
  resource: string;
  region: string;
  kg: string;
  unit: string;
  scope: number;
  source: string;
  valid_from: string;
  valid_to: string | null;
  organisation_id: string | null;
}

export const EMPTY_FACTORS: FactorTable = { version: '', factors: [] };

export function createFactorSource(options: { readonly db: Pick<pg.Pool, 'query'>; readonly logger: Logger }): FactorSource {
  let table = EMPTY_FACTORS;
  return {
    current: () => table,
    async refresh() {
      const { rows: [digest] } = await options.db.query<{ version: string }>(
        `SELECT md5(coalesce(string_agg(f::text, '|' ORDER BY f.id), '')) AS version FROM emission_factors f`,
      );
      const version = digest!.version;
      if (version === table.version) return;
      const { rows } = await options.db.query<Row>(
        `SELECT id, resource, region, kg_co2e_per_unit::text AS kg, unit, scope, source,
                to_char(valid_from, 'YYYY-MM-DD') AS valid_from, to_char(valid_to, 'YYYY-MM-DD') AS valid_to, organisation_id
           FROM emission_factors ORDER BY id`,
      );
      table = {
        version,
        factors: rows.map((r) => ({
          id: r.id,
          resource: r.resource,
          region: r.region,
          kgCo2ePerUnit: r.kg,
          unit: r.unit,
          scope: r.scope === 1 ? 1 : 2,
          source: r.source,
          validFrom: r.valid_from,
          validTo: r.valid_to,
          organisationId: r.organisation_id,
        })),
      };
      options.logger.info({ factors: rows.length, version }, 'emission factors loaded');
    },
  };
}
