/**
 * The resolution of an M-Bus data record: one step of its counter in the record's unit, which the
 * registry keeps as `registers.resolution` (the register wraps after 10^digits such steps).
 *
 * It is what the record would show with data 1: the VIF's power of ten, a duration's unit and any
 * multiplicative-correction VIFE. The protocol's record parser works it out from a probe record
 * with the same VIB and the integer 1 as data, so no scale table is repeated here. Probes are
 * remembered per VIB: a fleet sends few distinct ones.
 */
import { decodeRecords, type DataRecord } from '../../../protocols/mbus/index.js';

/** DIF of an instantaneous 8-bit integer, storage 0: the probe's data is one byte. */
const PROBE_DIF = 0x01;
const PROBE_DATA = 0x01;
/** Distinct VIBs remembered before the memory starts over. */
const REMEMBERED_VIBS = 1024;

const byVib = new Map<string, string | undefined>();

/**
 * One step of the record's counter in `record.unit`, as a canonical decimal (`0.001` for VIF 0x13,
 * `10` for VIF 0x04, `60` for on-time in minutes); undefined when the VIB gives no number.
 */
export function recordResolution(record: DataRecord): string | undefined {
  const key = String.fromCharCode(...record.vib);
  if (byVib.has(key)) return byVib.get(key);
  const probe = new Uint8Array(record.vib.length + 2);
  probe[0] = PROBE_DIF;
  probe.set(record.vib, 1);
  probe[probe.length - 1] = PROBE_DATA;
  const value = decodeRecords(probe, 0, false, 0).records[0]?.value;
  const resolution = value?.kind === 'number' ? (value.decimal ?? undefined) : undefined;
  if (byVib.size >= REMEMBERED_VIBS) byVib.clear();
  byVib.set(key, resolution);
  return resolution;
}
