/**
 * Prometheus metrics of the M-Bus TCP connector, registered in the registry its Ingest uses, so
 * `/metrics` shows the connector's framing and connection figures beside the ingest's Kafka figures.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** Why the connector closed a gateway connection (`peer` when the gateway closed it). */
export type CloseReason = 'peer' | 'idle' | 'errors' | 'write-failed' | 'stop' | 'internal-error';

/** Why the connector refused a gateway connection. */
export type RefuseReason = 'allowlist' | 'limit' | 'stopping';

/** The connector's instruments. */
export interface MbusTcpMetrics {
  /** Telegrams read, by outcome: `uplink` (handed to Kafka), `rejected`, `ignored` (short frames, E5). */
  readonly frames: Counter<'outcome'>;
  /** E5 bytes written: frames Kafka acknowledged. */
  readonly acks: Counter;
  /** NAK bytes written, by reason code. */
  readonly nacks: Counter<'reason'>;
  /** Bytes the framer skipped because no valid telegram starts there. */
  readonly garbageBytes: Counter;
  /** Open gateway connections. */
  readonly connections: Gauge;
  readonly refused: Counter<'reason'>;
  readonly closed: Counter<'reason'>;
}

/**
 * The connector's metrics in `registry`; a second source on the same registry shares them, as
 * prom-client refuses to register a name twice.
 */
export function mbusTcpMetrics(registry: Registry): MbusTcpMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] });
  return {
    frames: counter('meterflux_mbus_tcp_frames_total', 'M-Bus telegrams read from gateways, by outcome.', ['outcome']),
    acks: counter('meterflux_mbus_tcp_acks_total', 'E5 acknowledgements written: frames stored in Kafka.'),
    nacks: counter('meterflux_mbus_tcp_nacks_total', 'NAK bytes written: frames refused and dead-lettered, by reason.', ['reason']),
    garbageBytes: counter('meterflux_mbus_tcp_garbage_bytes_total', 'Bytes skipped because no valid M-Bus telegram starts there.'),
    connections:
      (registry.getSingleMetric('meterflux_mbus_tcp_connections') as Gauge | undefined) ??
      new Gauge({ name: 'meterflux_mbus_tcp_connections', help: 'Open M-Bus gateway connections.', registers: [registry] }),
    refused: counter('meterflux_mbus_tcp_refused_connections_total', 'Gateway connections refused, by reason.', ['reason']),
    closed: counter('meterflux_mbus_tcp_closed_connections_total', 'Gateway connections closed, by reason.', ['reason']),
  };
}
