/**
 * What a token may see, in one place: the organisation always, and the access groups when the
 * token is limited to some. Every resolver that reads devices or anything derived from them goes
 * through these helpers.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { Pool } from 'pg';
import type { AuthContext } from '../server/context.js';

/**
 * SQL condition on a `devices` row aliased `alias`, with its parameters appended to `params`:
 * the caller's organisation, and its access groups when limited.
 */
export function deviceVisible(auth: AuthContext, alias: string, params: unknown[]): string {
  params.push(auth.organisationId);
  const org = `${alias}.organisation_id = $${params.length}`;
  if (auth.accessGroupIds === null) return org;
  params.push(auth.accessGroupIds);
  return `${org} AND ${alias}.access_group_id = ANY($${params.length}::text[])`;
}

/** Ids of the devices a group-limited token sees (all of them for stations too: `station:{id}`). */
export async function visibleDeviceIds(pool: Pool, auth: AuthContext): Promise<string[]> {
  const params: unknown[] = [];
  const { rows } = await pool.query<{ id: string }>(`SELECT d.id FROM devices d WHERE ${deviceVisible(auth, 'd', params)}`, params);
  return rows.map((row) => row.id);
}

/**
 * Elasticsearch filters confining a query to the caller: `organisationId` on the document, and for
 * group-limited tokens, the device field among the visible devices. `deviceField` is `deviceId`,
 * or for concentrations a function mapping device ids to station ids on `stationId`.
 */
export async function tenantFilters(
  pool: Pool,
  auth: AuthContext,
  device: { field: string; map?: (deviceIds: string[]) => string[] },
  hasOrganisationField = true,
): Promise<estypes.QueryDslQueryContainer[]> {
  const filters: estypes.QueryDslQueryContainer[] = [];
  if (hasOrganisationField) filters.push({ term: { organisationId: auth.organisationId } });
  if (auth.accessGroupIds !== null || !hasOrganisationField) {
    const ids = await visibleDeviceIds(pool, auth);
    filters.push({ terms: { [device.field]: device.map ? device.map(ids) : ids } });
  }
  return filters;
}

/** Station ids of `station:{id}` device ids. */
export function stationIdsOf(deviceIds: readonly string[]): string[] {
  return deviceIds.filter((id) => id.startsWith('station:')).map((id) => id.slice('station:'.length));
}
