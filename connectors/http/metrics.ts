/**
 * Prometheus metrics of the HTTP ingest, beside the Ingest's own (accepted, rejected, write
 * failures, ack latency): requests by endpoint and outcome, and requests being served.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface HttpMetrics {
  /** Labels: `route` (`uplinks`, `chirpstack`, `other`), `status`, `code` (the error code, or `OK`). */
  readonly requests: Counter<'route' | 'status' | 'code'>;
  readonly inFlight: Gauge;
}

/** The metrics in `registry`, created on first use so several sources can share one registry. */
export function httpMetrics(registry: Registry): HttpMetrics {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    requests: existing<Counter<'route' | 'status' | 'code'>>('meterflux_http_ingest_requests_total') ??
      new Counter({
        name: 'meterflux_http_ingest_requests_total',
        help: 'HTTP ingest requests answered, by endpoint, status and code.',
        labelNames: ['route', 'status', 'code'],
        registers: [registry],
      }),
    inFlight: existing<Gauge>('meterflux_http_ingest_requests_in_flight') ??
      new Gauge({
        name: 'meterflux_http_ingest_requests_in_flight',
        help: 'HTTP ingest requests received and not yet answered.',
        registers: [registry],
      }),
  };
}
