/**
 * The Elasticsearch read aliases the API queries. The indexing worker (streams/index) owns them:
 * every record type has a read alias `{prefix}{type}` over the live generation (see
 * streams/index/index-names.ts and its README). Folders meet at contracts, not imports, so the
 * names are restated here; `indices.test.ts` pins them.
 */

/** Record types indexed, one read alias each (the indexing worker's `INDEX_TYPES`). */
export const INDEX_TYPES = ['readings', 'devices', 'consumption', 'concentrations', 'footprint', 'alerts', 'rejects'] as const;
export type IndexType = (typeof INDEX_TYPES)[number];

/** Alias name per record type. */
export type IndexNames = Readonly<Record<IndexType, string>>;

/**
 * The read aliases under `prefix` (empty in production; the integration tests' prefix in tests,
 * the same prefix they give the indexing worker).
 */
export function indexNames(prefix = ''): IndexNames {
  return Object.fromEntries(INDEX_TYPES.map((type) => [type, `${prefix}${type}`])) as Record<IndexType, string>;
}
