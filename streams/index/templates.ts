/**
 * Installs the composable index template of every indexed type for one index generation, and keeps
 * the existing indices of that generation in step with additive mapping changes.
 */
import type { Client } from '@elastic/elasticsearch';
import { errors } from '@elastic/elasticsearch';
import { ConfigError } from '../../core/errors.js';
import { assertIndexNaming, generationPattern, INDEX_TYPES, templateName, type IndexNaming } from './index-names.js';
import { INDEX_SETTINGS, indexMapping } from './mappings.js';

/** Options of {@link ensureIndexTemplates}. */
export interface IndexTemplateOptions {
  /**
   * Prepended to template, index and alias names.
   * @default ''
   */
  readonly prefix?: string;
  /**
   * The index generation whose templates (and existing indices) are installed.
   * @default 1
   */
  readonly generation?: number;
}

/** Beats any catch-all template a cluster may have, so ours decide the mapping. */
const PRIORITY = 200;

/**
 * Puts one template per type, named `{prefix}meterflux-{type}-v{N}` and matching only the indices
 * of generation N (`{prefix}readings-v{N}-*`, `{prefix}devices-v{N}`…), then applies the mapping to
 * the indices of that generation that already exist. Idempotent; called by the worker at every
 * start, before it consumes.
 *
 * Templates are per generation so that a worker building generation N+1 and the one still serving
 * N never overwrite each other's mapping. A mapping change that only adds fields reaches existing
 * indices too; one that changes a field's type cannot, and needs a new generation built by replay.
 *
 * @throws {ConfigError} when the prefix or generation cannot name indices, or when an existing
 *   index of the generation has a mapping the current one cannot extend.
 */
export async function ensureIndexTemplates(client: Client, options: IndexTemplateOptions = {}): Promise<void> {
  const naming: IndexNaming = { prefix: options.prefix ?? '', generation: options.generation ?? 1 };
  assertIndexNaming(naming);
  for (const type of INDEX_TYPES) {
    const pattern = generationPattern(naming, type);
    const mappings = indexMapping(type);
    await client.indices.putIndexTemplate({
      name: templateName(naming, type),
      index_patterns: [pattern],
      priority: PRIORITY,
      template: { settings: INDEX_SETTINGS, mappings },
      _meta: { managedBy: 'meterflux streams/index', type, generation: naming.generation },
    });
    try {
      await client.indices.putMapping({ index: pattern, allow_no_indices: true, ignore_unavailable: true, ...mappings });
    } catch (err) {
      if (!(err instanceof errors.ResponseError) || err.statusCode !== 400) throw err;
      const reason = (err.body as { error?: { reason?: string } } | undefined)?.error?.reason ?? err.message;
      throw new ConfigError([
        `the ${type} mapping cannot be applied to the existing indices ${pattern} (${reason}); ` +
          `build generation ${naming.generation + 1} by replay and swap the alias`,
      ]);
    }
  }
}
