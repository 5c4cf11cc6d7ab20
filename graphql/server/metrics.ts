/**
 * The API's own Prometheus metrics, on the process registry.
 */
import { Gauge } from 'prom-client';
import type { ApiServices } from './context.js';

/** Registers the gauges; values are read when Prometheus scrapes. */
export function createApiMetrics(services: ApiServices): void {
  const { live, metrics } = services;
  new Gauge({
    name: 'meterflux_api_live_subscribers',
    help: 'Subscribers attached to the Kafka tail of this API instance.',
    registers: [metrics],
    collect() {
      this.set(live.subscribers());
    },
  });
}
