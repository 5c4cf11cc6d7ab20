/**
 * A connector is a Source: it receives device traffic over one transport and hands it to the
 * {@link Ingest} it is started with. The connector process owns the lifecycle: it starts sinks
 * (the Kafka producer) before sources and stops them in reverse.
 */
import type { ComponentHealth } from '../../core/metrics.js';
import type { Ingest } from './ingest.js';

export interface Source {
  /** Connector name as in `CONNECTORS`, e.g. `mqtt`, `http`, `mbus-tcp`, `lns`. */
  readonly name: string;
  /**
   * Connects upstream (or starts listening) and begins handing traffic to `ingest`. Resolves once
   * the source is ready to receive; reconnects by itself with backoff afterwards.
   */
  start(ingest: Ingest): Promise<void>;
  /** Stops receiving, lets in-flight writes finish, closes connections. Idempotent; safe before start. */
  stop(): Promise<void>;
  /** Current health for `/healthz`: connected upstream, listening, … */
  health(): ComponentHealth;
}
