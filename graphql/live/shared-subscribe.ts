/**
 * Subscribers with the same operation share one execution. graphql-ws calls {@link
 * SharedSubscribe} for every subscription; operations with the same document, operation name,
 * variables and caller's visibility (organisation, access groups, scopes) attach to one running
 * graphql `subscribe`, whose results are fanned out to each subscriber's bounded buffer. An
 * operation that passes an `after` cursor replays history from its own position, so it always
 * runs alone.
 *
 * Slow-subscriber policy: a subscriber whose buffer holds `bufferSize` results it has not taken is
 * detached; it receives one last result whose error has code `SLOW_SUBSCRIBER`, then `complete`.
 * It resubscribes with the `cursor` of the last event it processed and receives what it missed,
 * once. Memory per subscriber is therefore bounded by `bufferSize` results.
 */
import {
  GraphQLError,
  Kind,
  print,
  subscribe,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql/index.js';
import type { Logger } from '../../core/log.js';
import type { ApiContext } from '../server/context.js';
import { BoundedQueue } from './queue.js';

/** The `subscribe` function graphql-ws runs for subscription operations. */
export type SharedSubscribe = (args: ExecutionArgs) => Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;

/** Options of {@link createSharedSubscribe}. */
export interface SharedSubscribeOptions {
  /** Results a subscriber may have waiting before it is detached as slow. */
  readonly bufferSize: number;
  readonly logger: Logger;
}

/** The result a detached slow subscriber receives last. */
export function slowSubscriberResult(bufferSize: number): ExecutionResult {
  return {
    errors: [
      new GraphQLError(
        `this subscriber fell ${bufferSize} events behind and was detached; subscribe again with the cursor of the last event received`,
        { extensions: { code: 'SLOW_SUBSCRIBER' } },
      ),
    ],
  };
}

interface Execution {
  readonly subscribers: Set<BoundedQueue<ExecutionResult>>;
  readonly controller: AbortController;
  source: AsyncIterableIterator<ExecutionResult> | undefined;
  /** Settles once graphql's subscribe has run: the source stream, or the result that refused it. */
  ready: Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
}

/** Creates the shared subscribe; one per server, so sharing spans every socket of the instance. */
export function createSharedSubscribe(options: SharedSubscribeOptions): SharedSubscribe & { readonly executions: () => number } {
  const executions = new Map<string, Execution>();
  let unshared = 0;

  function detach(key: string, execution: Execution, queue: BoundedQueue<ExecutionResult>): void {
    execution.subscribers.delete(queue);
    if (execution.subscribers.size > 0) return;
    if (executions.get(key) === execution) executions.delete(key);
    execution.controller.abort(new Error('no subscribers left'));
    void execution.source?.return?.();
  }

  async function pump(key: string, execution: Execution, source: AsyncIterableIterator<ExecutionResult>): Promise<void> {
    try {
      for await (const result of source) {
        for (const queue of execution.subscribers) {
          if (!queue.push(result)) {
            queue.clear();
            queue.finish(slowSubscriberResult(options.bufferSize));
            execution.subscribers.delete(queue);
          }
        }
        if (execution.subscribers.size === 0) break;
      }
      for (const queue of execution.subscribers) queue.finish();
    } catch (err) {
      // An error meant for clients (e.g. SLOW_SUBSCRIBER from the hub) ends the stream as a result
      // carrying it; anything else fails the operation and is logged by the transport.
      for (const queue of execution.subscribers) {
        if (err instanceof GraphQLError) queue.finish({ errors: [err] });
        else queue.fail(err);
      }
    } finally {
      if (executions.get(key) === execution) executions.delete(key);
      execution.subscribers.clear();
      execution.controller.abort(new Error('execution ended'));
    }
  }

  const run: SharedSubscribe = async (args) => {
    const context = args.contextValue as ApiContext;
    const shareable = !hasAfterArgument(args.document, args.variableValues);
    const key = shareable ? executionKey(args, context) : `unshared:${(unshared += 1)}`;
    let execution = executions.get(key);
    if (execution === undefined) {
      const created: Execution = { subscribers: new Set(), controller: new AbortController(), source: undefined, ready: undefined! };
      // The execution outlives the socket that started it: it stops when its last subscriber leaves.
      const sharedContext: ApiContext = { ...context, signal: created.controller.signal };
      // Registered before the first await, so a subscriber arriving meanwhile joins this execution.
      created.ready = subscribe({ ...args, contextValue: sharedContext }).then((result) => {
        if (!isAsyncIterable(result)) {
          executions.delete(key);
          return result;
        }
        created.source = result;
        void pump(key, created, result);
        return result;
      });
      executions.set(key, created);
      execution = created;
    }
    const joined = execution;
    const queue: BoundedQueue<ExecutionResult> = new BoundedQueue(options.bufferSize, () => detach(key, joined, queue));
    joined.subscribers.add(queue);
    const started = await joined.ready.catch((err: unknown) => {
      executions.delete(key);
      throw err;
    });
    if (!isAsyncIterable(started)) {
      joined.subscribers.delete(queue);
      return started;
    }
    context.signal.addEventListener('abort', () => void queue.return(), { once: true });
    return queue;
  };
  return Object.assign(run, { executions: () => executions.size });
}

/** What identifies a shareable execution: the operation and everything the caller is allowed to see. */
export function executionKey(args: ExecutionArgs, context: ApiContext): string {
  const { auth } = context;
  return JSON.stringify([
    print(args.document),
    args.operationName ?? null,
    args.variableValues ?? {},
    auth.organisationId,
    auth.accessGroupIds,
    [...auth.scopes].sort(),
  ]);
}

/** Whether any field of the operation gets a non-null `after` argument (literal or variable). */
export function hasAfterArgument(document: DocumentNode, variables: ExecutionArgs['variableValues']): boolean {
  let found = false;
  visit(document, {
    Argument(node) {
      if (node.name.value !== 'after') return;
      if (node.value.kind === Kind.NULL) return;
      if (node.value.kind === Kind.VARIABLE) {
        const value = variables?.[node.value.name.value];
        if (value === undefined || value === null) return;
      }
      found = true;
    },
  });
  return found;
}

function isAsyncIterable(value: unknown): value is AsyncIterableIterator<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
