/**
 * Ordered start-up and shutdown of a process's components.
 *
 * A process entry point builds its components (metrics server, sinks, workers, sources, servers),
 * puts them in a {@link Lifecycle} in start order, and hands it to {@link runUntilSignal}.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from './log.js';

/** Anything with a start and a stop: a connector, a stream worker, a server, a client pool. */
export interface Component {
  /** Short name for logs, e.g. `kafka-producer`, `mqtt-source`. */
  readonly name: string;
  /** Resolves once the component is ready to serve; a throw aborts the whole start-up. */
  start(): Promise<void>;
  /** Releases everything the component holds. Called at most once, and only after `start` resolved. */
  stop(): Promise<void>;
}

/** Where a {@link Lifecycle} is. */
export type LifecycleState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Options of {@link Lifecycle}. */
export interface LifecycleOptions {
  /** Receives one line per component start and stop. */
  readonly logger: Logger;
}

/**
 * Starts components in the given order and stops the started ones in reverse.
 *
 * Order them so that nothing accepts input before what it writes to is ready: sinks, then workers,
 * then sources and servers. A component whose start fails stops everything already started.
 */
export class Lifecycle {
  readonly #components: readonly Component[];
  readonly #logger: Logger;
  readonly #started: Component[] = [];
  #state: LifecycleState = 'idle';
  /** Settles when the start loop ends; resolves to the failure if there was one, never rejects. */
  #starting: Promise<{ readonly error: unknown } | undefined> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(components: readonly Component[], options: LifecycleOptions) {
    this.#components = [...components];
    this.#logger = options.logger;
  }

  get state(): LifecycleState {
    return this.#state;
  }

  /**
   * Starts every component in order. Resolves early, without starting the rest, if {@link stop} is
   * called meanwhile.
   *
   * @throws the first component's start error, after everything already started has been stopped;
   *   or an `Error` when called a second time or after {@link stop}.
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`cannot start a lifecycle that is ${this.#state}`);
    this.#state = 'starting';
    this.#starting = this.#startAll();
    const failure = await this.#starting;
    if (failure !== undefined) {
      // Stop failures are logged by stop(); the start failure is the one the caller must see.
      await this.stop().catch(() => undefined);
      throw failure.error;
    }
    if (this.#stopping === undefined) this.#state = 'running';
  }

  /**
   * Stops the started components in reverse order, waiting for an ongoing start to reach a
   * component boundary first. Idempotent: every call returns the same promise. Safe before start.
   *
   * @throws AggregateError of the stop errors when any component failed to stop; the others are
   *   still stopped.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async #startAll(): Promise<{ readonly error: unknown } | undefined> {
    for (const component of this.#components) {
      if (this.#stopping !== undefined) return undefined;
      const log = this.#logger.child({ component: component.name });
      log.info('starting');
      const startedAt = performance.now();
      try {
        await component.start();
      } catch (err) {
        log.error({ err }, 'failed to start');
        return { error: err };
      }
      this.#started.push(component);
      log.info({ durationMs: Math.round(performance.now() - startedAt) }, 'started');
    }
    return undefined;
  }

  async #stopAll(): Promise<void> {
    await this.#starting;
    this.#state = 'stopping';
    const errors: unknown[] = [];
    for (const component of this.#started.toReversed()) {
      const log = this.#logger.child({ component: component.name });
      log.info('stopping');
      const stoppingAt = performance.now();
      try {
        await component.stop();
        log.info({ durationMs: Math.round(performance.now() - stoppingAt) }, 'stopped');
      } catch (err) {
        log.error({ err }, 'failed to stop');
        errors.push(err);
      }
    }
    this.#state = 'stopped';
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} component(s) failed to stop`);
  }
}

/** Options of {@link runUntilSignal}. */
export interface RunOptions {
  readonly logger: Logger;
  /** How long shutdown may take before the process is forced out with exit code 1; `config.shutdown.graceMs`. */
  readonly graceMs: number;
  /**
   * Signals that start a shutdown. A second one during shutdown forces exit code 1 at once.
   * @default ['SIGTERM', 'SIGINT']
   */
  readonly signals?: readonly NodeJS.Signals[];
  /**
   * Where signals arrive; tests pass an `EventEmitter`.
   * @default process
   */
  readonly signalSource?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
  /**
   * Called to force the process out.
   * @default process.exit
   */
  readonly exit?: (code: number) => void;
}

/**
 * Starts the lifecycle and keeps it running until a signal arrives, then stops it within
 * `graceMs`. Called last by each process entry point; resolves when shutdown is complete, after
 * which the event loop drains and the process exits on its own.
 *
 * @throws the start error when start-up fails (everything started has been stopped), or the stop
 *   error when shutdown fails; the caller should exit non-zero.
 */
export async function runUntilSignal(lifecycle: Lifecycle, options: RunOptions): Promise<void> {
  const { logger, graceMs } = options;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const source = options.signalSource ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));

  let shutdown: Promise<void> | undefined;
  let onFirstSignal!: () => void;
  const signalled = new Promise<void>((resolve) => (onFirstSignal = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shutdown !== undefined) {
      logger.fatal({ signal }, 'second signal during shutdown, exiting now');
      exit(1);
      return;
    }
    logger.info({ signal, graceMs }, 'signal received, shutting down');
    const timer = setTimeout(() => {
      logger.fatal({ graceMs }, 'shutdown exceeded the grace period, exiting now');
      exit(1);
    }, graceMs);
    // The timer must not be what keeps a process alive whose components have all stopped.
    timer.unref();
    shutdown = lifecycle.stop().finally(() => clearTimeout(timer));
    // Awaited below; this only keeps a stop failure during a failed start from being an unhandled rejection.
    shutdown.catch(() => undefined);
    onFirstSignal();
  };

  for (const signal of signals) source.on(signal, onSignal);
  try {
    logger.info('starting');
    await lifecycle.start();
    if (shutdown === undefined) logger.info('running');
    await signalled;
    await shutdown;
    logger.info('shutdown complete');
  } finally {
    for (const signal of signals) source.off(signal, onSignal);
  }
}
