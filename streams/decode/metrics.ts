/**
 * The decode stage's Prometheus metrics, on the process registry (core/metrics.ts).
 */
import { Counter, Histogram, type Registry } from 'prom-client';

/** What the handler counts. */
export interface DecodeMetrics {
  /** An uplink decoded into `readings` readings in `seconds` (lookups, decode, mapping). */
  decoded(readings: number, seconds: number): void;
  /** An uplink skipped because its idempotency key was seen. */
  duplicate(): void;
  /** An uplink refused with `reason`, to be dead-lettered. */
  deadLettered(reason: string): void;
  /** A device registered itself. */
  registered(): void;
  /** Decoder warnings (skipped records, codec warnings) of one uplink. */
  warned(count: number): void;
}

/** Registers the decode metrics on `registry`. Once per registry. */
export function createDecodeMetrics(registry: Registry): DecodeMetrics {
  const uplinks = new Counter({
    name: 'meterflux_decode_uplinks_total',
    help: 'Uplinks the decode stage processed, by outcome: decoded, duplicate (same idempotency key), dead_lettered.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const rejects = new Counter({
    name: 'meterflux_decode_dead_letters_total',
    help: 'Uplinks the decode stage dead-lettered, by reason code.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const readings = new Counter({ name: 'meterflux_decode_readings_total', help: 'Readings produced.', registers: [registry] });
  const registered = new Counter({ name: 'meterflux_decode_devices_registered_total', help: 'Devices that registered themselves.', registers: [registry] });
  const warnings = new Counter({ name: 'meterflux_decode_warnings_total', help: 'Decoder warnings: records skipped, codec warnings.', registers: [registry] });
  const duration = new Histogram({
    name: 'meterflux_decode_duration_seconds',
    help: 'Time to decode one uplink into readings, lookups and mapping included.',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
    registers: [registry],
  });
  const decoded = uplinks.labels('decoded');
  const duplicates = uplinks.labels('duplicate');
  const deadLettered = uplinks.labels('dead_lettered');
  return {
    decoded(count, seconds) {
      decoded.inc();
      readings.inc(count);
      duration.observe(seconds);
    },
    duplicate: () => duplicates.inc(),
    deadLettered(reason) {
      deadLettered.inc();
      rejects.labels(reason).inc();
    },
    registered: () => registered.inc(),
    warned: (count) => warnings.inc(count),
  };
}
