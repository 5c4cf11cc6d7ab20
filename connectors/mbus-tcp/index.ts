/**
 * M-Bus over TCP ingest: serial-to-IP gateways stream wired M-Bus (EN 13757-2) telegrams; every
 * long frame with a variable data structure becomes one RawUplink keyed by the meter's secondary
 * address, answered with E5 once Kafka has it. The wire convention is in README.md.
 *
 * @packageDocumentation
 */
export {
  createMbusTcpSource,
  mbusTcpSourceOptions,
  type MbusTcpSource,
  type MbusTcpSourceOptions,
} from './source.js';
export { REJECTED_REPLY, STORED_REPLY } from './session.js';
export { idempotencyKeyOf, type MbusRejectReason } from './uplinks.js';
