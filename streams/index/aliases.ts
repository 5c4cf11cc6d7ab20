/**
 * Index creation with the read alias, and the atomic alias swap that puts a rebuilt generation
 * live.
 */
import type { Client } from '@elastic/elasticsearch';
import { errors } from '@elastic/elasticsearch';

/** Options of {@link swapAlias}. */
export interface SwapAliasOptions {
  readonly alias: string;
  /**
   * Index names or patterns the alias leaves, e.g. `readings-v1-*`; must match at least one index.
   * Indices that do not hold the alias are skipped.
   */
  readonly from: string | readonly string[];
  /** Index names or patterns the alias moves to, e.g. `readings-v2-*`; must match at least one index. */
  readonly to: string | readonly string[];
}

/**
 * Moves `alias` from the indices `from` to the indices `to` in one `_aliases` request, so readers
 * see either the old indices or the new ones, never both and never none. Called by the replay
 * command once generation N+1 has caught up. Idempotent: a second call changes nothing.
 *
 * @throws the client's `ResponseError` (404 `index_not_found_exception`) when `from` or `to`
 *   matches no index; the alias is then left as it was.
 */
export async function swapAlias(client: Client, options: SwapAliasOptions): Promise<void> {
  const list = (value: string | readonly string[]): string[] => (typeof value === 'string' ? [value] : [...value]);
  await client.indices.updateAliases({
    actions: [
      { remove: { indices: list(options.from), alias: options.alias, must_exist: false } },
      { add: { indices: list(options.to), alias: options.alias } },
    ],
  });
}

/**
 * Creates indices on first use, each with its read alias when `attachReadAlias` is set, and
 * remembers the ones it has seen. A worker building a new generation leaves the alias off until
 * {@link swapAlias}, so readers do not see the same documents twice meanwhile.
 */
export class IndexCreator {
  readonly #client: Client;
  readonly #attachReadAlias: boolean;
  readonly #ready = new Map<string, Promise<void>>();

  constructor(client: Client, attachReadAlias: boolean) {
    this.#client = client;
    this.#attachReadAlias = attachReadAlias;
  }

  /** Resolves once every index in `indices` exists; mappings and settings come from the templates. */
  async ensure(indices: Iterable<readonly [index: string, alias: string]>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const [index, alias] of indices) {
      let ready = this.#ready.get(index);
      if (!ready) {
        ready = this.#create(index, alias);
        // A failed creation is tried again by the next batch.
        ready.catch(() => this.#ready.delete(index));
        this.#ready.set(index, ready);
      }
      waits.push(ready);
    }
    await Promise.all(waits);
  }

  async #create(index: string, alias: string): Promise<void> {
    try {
      await this.#client.indices.create({ index, ...(this.#attachReadAlias ? { aliases: { [alias]: {} } } : {}) });
    } catch (err) {
      // Another worker instance, or an earlier run, created it first.
      if (err instanceof errors.ResponseError && err.body?.error?.type === 'resource_already_exists_exception') return;
      throw err;
    }
  }
}
