// Generated from schemas/avro/*.avsc by schemas/avro/generate-types.ts — do not edit.
// Regenerate with `npx tsx schemas/avro/generate-types.ts`; a test fails while this file is stale.

/**
 * One message as a connector received it from a device, gateway or network server: the original
 * bytes, never altered, plus transport metadata. Topic uplink.raw.v1, key deviceId. The replay
 * source for everything downstream.
 */
export interface RawUplink {
  /**
   * Unique id of this uplink, assigned by the connector on receipt (UUID). Readings derived from it
   * carry it, and their readingIds are built from it.
   */
  uplinkId: string;
  /**
   * Identity of the upstream message: equal for every redelivery of the same message, different for
   * different messages (e.g. the LNS deduplication id, or a SHA-256 of payload + deviceId for
   * transports without one). Decode drops an uplink whose (deviceId, idempotencyKey) it has already
   * processed.
   */
  idempotencyKey: string;
  /**
   * Transport identity of the device and the Kafka key: `lorawan:{DevEUI}` (16 lowercase hex
   * digits), `mbus:{secondary address}` (16 lowercase hex digits: identification number,
   * manufacturer code, version, medium; the same for wired and wireless M-Bus) or
   * `station:{stationId}`.
   */
  deviceId: string;
  /** Transport the connector received the message over. */
  transport: Transport;
  /** Format of payload, chosen by the connector from the transport and source. */
  payloadFormat: PayloadFormat;
  /**
   * The message exactly as received (frame bytes, telegram bytes, or the UTF-8 JSON body), never
   * altered.
   */
  payload: Buffer;
  /** When the connector received the message, by the connector's clock (UTC epoch milliseconds). */
  receivedAt: number;
  /**
   * Device or network-server time of the message when the transport metadata carries one (UTC epoch
   * milliseconds); null when only the payload carries a time, which the decoder then reads.
   */
  deviceTimeAt: number | null;
  /**
   * Registry id of the owning organisation when the connector knows it (tenant of the API token or
   * LNS application); null otherwise, and decode resolves it from the registry.
   */
  organisationId: string | null;
  /**
   * Name of the connector instance that received the message, e.g. `mqtt-stations` or `tcp-mbus-1`.
   */
  connector: string;
  /**
   * Where the message came from: the MQTT topic, the remote `ip:port` of a TCP connection, the
   * request path of an HTTP push, or the URL of an LNS WebSocket.
   */
  sourceAddress: string;
  /** Radio reception metadata; null for wired transports (MBUS_TCP) and station messages. */
  radio: RadioMetadata | null;
  /**
   * Other transport metadata worth keeping, as text (e.g. MQTT `qos`, HTTP `content-type`, LNS
   * application id). Never credentials or tokens.
   */
  metadata: Record<string, string>;
}

/**
 * How the message reached meterflux. MQTT: a broker subscription (stations, ChirpStack, wM-Bus
 * gateways). LNS_WEBSOCKET: a LoRaWAN network server's WebSocket stream. HTTP: an HTTP push to the
 * ingest endpoint. MBUS_TCP: an M-Bus long frame over TCP from a serial-to-IP gateway. UNKNOWN: a
 * transport this reader's schema does not know (the enum default; writers never write it).
 */
export type Transport = 'UNKNOWN' | 'MQTT' | 'LNS_WEBSOCKET' | 'HTTP' | 'MBUS_TCP';

/**
 * What the payload bytes are, which selects the decoder. MBUS_LONG_FRAME: one EN 13757-2 long frame
 * (68 L L 68 … 16). WMBUS_TELEGRAM: one EN 13757-4 / OMS telegram, possibly encrypted.
 * LORAWAN_PAYLOAD: the application payload (FRMPayload) of a LoRaWAN uplink, decoded by the
 * device's codec. CHIRPSTACK_EVENT: a ChirpStack integration event (JSON) as received.
 * STATION_TELEMETRY: a GHG station measurement message (JSON). STATION_STATUS: a GHG station status
 * or diagnostic message (JSON). DECODED_VALUES_JSON: values already decoded upstream, as JSON.
 * UNKNOWN: a format this reader's schema does not know (the enum default; writers never write it).
 */
export type PayloadFormat =
  | 'UNKNOWN'
  | 'MBUS_LONG_FRAME'
  | 'WMBUS_TELEGRAM'
  | 'LORAWAN_PAYLOAD'
  | 'CHIRPSTACK_EVENT'
  | 'STATION_TELEMETRY'
  | 'STATION_STATUS'
  | 'DECODED_VALUES_JSON';

/**
 * Radio reception of a LoRaWAN or wireless M-Bus uplink, from the gateway that heard it best. Every
 * field is null when the transport does not report it.
 */
export interface RadioMetadata {
  /** Received signal strength, in dBm. */
  rssiDbm: number | null;
  /** Signal-to-noise ratio, in dB. */
  snrDb: number | null;
  /**
   * Id of the gateway that heard the uplink best (LoRaWAN gateway EUI, 16 lowercase hex digits, or
   * the wM-Bus gateway's name).
   */
  gatewayId: string | null;
  /** Carrier frequency, in Hz (e.g. 868100000). */
  frequencyHz: number | null;
  /** LoRa spreading factor, 7 to 12. */
  spreadingFactor: number | null;
  /** LoRaWAN uplink frame counter (32-bit unsigned). */
  fCnt: number | null;
  /** LoRaWAN application port, 1 to 223. */
  fPort: number | null;
}

/**
 * One register value decoded from an uplink, in its canonical unit, with quality flags. Topic
 * reading.v1, key deviceId.
 */
export interface Reading {
  /**
   * Deterministic id `{uplinkId}:{recordIndex}`, recordIndex being the 0-based position of the
   * value in the decoded uplink, so re-decoding the same uplink yields the same ids.
   */
  readingId: string;
  /** uplinkId of the RawUplink this value was decoded from. */
  uplinkId: string;
  /**
   * Transport identity of the device (`lorawan:…`, `mbus:…`, `station:…`, as in RawUplink) and the
   * Kafka key.
   */
  deviceId: string;
  /**
   * Name of the register within the device: the quantity, then `.tariff{n}`, `.storage{n}`,
   * `.subunit{n}` for each of those that is not 0, then `.max`, `.min` or `.error` for a function
   * other than INSTANTANEOUS; e.g. `volume`, `energy.tariff1`, `volume.storage1`. deviceId +
   * registerKey identify a register.
   */
  registerKey: string;
  /** Registry id of the owning organisation; null while the device is not assigned to one. */
  organisationId: string | null;
  /** Registry id of the site the device is installed at; null while not installed. */
  siteId: string | null;
  /**
   * What is measured, in lower snake case: volume, energy, power, volume_flow, mass, mass_flow,
   * flow_temperature, return_temperature, temperature_difference, temperature, pressure,
   * relative_humidity, co2, ch4, n2o, on_time, …
   */
  quantity: string;
  /**
   * Value in the canonical unit of the quantity (see unit), after the VIF or codec scale and the
   * register multiplier.
   */
  value: number;
  /**
   * Canonical unit of value: m3, Wh, W, m3/h, kg, kg/h, degC, K (temperature differences), Pa, %,
   * ppm, s.
   */
  unit: string;
  /** Value as the device reported it, in originalUnit, before conversion to the canonical unit. */
  originalValue: number;
  /** Unit the device reported the value in, e.g. kWh, MWh, GJ, l, degC. */
  originalUnit: string;
  /** Kind of value; INSTANTANEOUS for transports without the notion. */
  function: MeasurementFunction;
  /**
   * M-Bus storage number: 0 for the current value, 1 and up for stored values (e.g. the value at
   * the last due date); 0 for other transports.
   */
  storageNumber: number;
  /**
   * M-Bus tariff number: 0 for the total, 1 and up for tariff registers; 0 for other transports.
   */
  tariff: number;
  /** M-Bus device unit (subunit) number, 0 for the main unit; 0 for other transports. */
  subunit: number;
  /**
   * True for a register that only advances (a meter index such as volume or energy), whose
   * differences are consumption; false for instantaneous quantities (power, flow, temperature,
   * concentration).
   */
  cumulative: boolean;
  /**
   * Event time of the value (UTC epoch milliseconds): the device's time stamp when it sent a
   * trustworthy one, else receivedAt (flagged TIME_FROM_RECEIPT).
   */
  observedAt: number;
  /** receivedAt of the uplink (UTC epoch milliseconds). */
  receivedAt: number;
  /** Quality flags, each at most once, in symbol order; empty when the value is good. */
  qualityFlags: QualityFlag[];
  /**
   * Decoder that produced the value and its version, `{decoder}@{semver}`, e.g. `mbus@1.0.0`; lets
   * a replay tell old decodes from new.
   */
  decoderVersion: string;
}

/**
 * Kind of value, as the M-Bus DIF function field. INSTANTANEOUS: the current value. MAXIMUM and
 * MINIMUM: an extreme over the device's own period. DURING_ERROR: a value recorded while the device
 * was in an error state. UNKNOWN: a function this reader's schema does not know (the enum default;
 * writers never write it).
 */
export type MeasurementFunction =
  | 'UNKNOWN'
  | 'INSTANTANEOUS'
  | 'MAXIMUM'
  | 'MINIMUM'
  | 'DURING_ERROR';

/**
 * A reason to doubt or qualify a value. CLOCK_IN_FUTURE: the device time was ahead of receipt by
 * more than the tolerance. CLOCK_TOO_OLD: the device time was older than the accepted age.
 * TIME_FROM_RECEIPT: observedAt is the receipt time because the device sent none or an untrusted
 * one. OUT_OF_RANGE: outside the plausible range for the quantity or the register's digit count.
 * ROLLOVER: the register wrapped past its maximum. SUSPECTED_RESET: the register went back without
 * a wrap; quarantined, not used for consumption. DEVICE_ERROR: the device reported an error status
 * with this value. LOW_BATTERY: the device reported a low battery. ESTIMATED: the device or
 * upstream system marked the value as estimated. UNKNOWN: a flag this reader's schema does not know
 * (the enum default; writers never write it).
 */
export type QualityFlag =
  | 'UNKNOWN'
  | 'CLOCK_IN_FUTURE'
  | 'CLOCK_TOO_OLD'
  | 'TIME_FROM_RECEIPT'
  | 'OUT_OF_RANGE'
  | 'ROLLOVER'
  | 'SUSPECTED_RESET'
  | 'DEVICE_ERROR'
  | 'LOW_BATTERY'
  | 'ESTIMATED';

/**
 * The latest registry view of a device and the change that produced it. Topic device.v1
 * (compacted), key deviceId: the last record per key is the device's current state.
 */
export interface Device {
  /**
   * Transport identity of the device (`lorawan:…`, `mbus:…`, `station:…`, as in RawUplink) and the
   * Kafka key.
   */
  deviceId: string;
  /**
   * Registry id of the owning organisation; null while unassigned (a new auto-registered device).
   */
  organisationId: string | null;
  /** Registry id of the site the device is installed at; null while not installed. */
  siteId: string | null;
  /**
   * M-Bus secondary address, 16 lowercase hex digits (identification number, manufacturer code,
   * version, medium); null for non-M-Bus devices.
   */
  mbusSecondaryAddress: string | null;
  /** LoRaWAN DevEUI, 16 lowercase hex digits; null for non-LoRaWAN devices. */
  devEui: string | null;
  /** GHG monitoring station id as the station reports it; null for meters. */
  stationId: string | null;
  /** Manufacturer's three-letter FLAG code (e.g. KAM, ACW, EFE); null when unknown. */
  manufacturer: string | null;
  /** Model name, e.g. `Kamstrup 382`; null when unknown. */
  model: string | null;
  /** M-Bus version (generation) byte, 0 to 255; null when the transport has none. */
  deviceVersion: number | null;
  /**
   * Medium in lower snake case, after the M-Bus medium byte: gas, water, warm_water, heat, cooling,
   * electricity, …; `ghg_station` for monitoring stations; null when unknown.
   */
  medium: string | null;
  /** Registry status after this change. */
  status: DeviceStatus;
  /** The change that produced this record. */
  change: DeviceChange;
  /** receivedAt of the first uplink from the device (UTC epoch milliseconds). */
  firstSeenAt: number;
  /** receivedAt of the latest uplink from the device (UTC epoch milliseconds). */
  lastSeenAt: number;
  /**
   * Last reported battery level, in percent (0 to 100); null when the device does not report it.
   */
  batteryPercent: number | null;
  /** Last reported battery voltage, in volts; null when the device does not report it. */
  batteryVolts: number | null;
  /** Received signal strength of the latest radio uplink, in dBm; null for wired devices. */
  rssiDbm: number | null;
  /** Signal-to-noise ratio of the latest radio uplink, in dB; null for wired devices and wM-Bus. */
  snrDb: number | null;
  /**
   * Latitude the device last reported for itself, in degrees north (WGS 84, -90 to 90); null while
   * it has reported no position (meters never do; a GHG station with a receiver does). Known
   * together with longitudeDeg. The site's coordinates are in the registry, not here.
   */
  latitudeDeg: number | null;
  /**
   * Longitude the device last reported for itself, in degrees east (WGS 84, -180 to 180); null
   * while it has reported no position. Known together with latitudeDeg.
   */
  longitudeDeg: number | null;
  /**
   * Firmware version as the device last reported it, e.g. `2.4.1` (GHG station status); null when
   * it has reported none.
   */
  firmwareVersion: string | null;
  /** When this record was produced (UTC epoch milliseconds). */
  updatedAt: number;
  /**
   * 1 for the first record of the device, then 1 more for each record with a change; consumers
   * ignore a record whose revision is not above the one they hold (the Elasticsearch external
   * version).
   */
  revision: number;
}

/**
 * Lifecycle status in the registry. NEW: seen but not yet confirmed by an operator. ACTIVE:
 * confirmed; its data is used. RETIRED: removed from service; later uplinks are kept but not used.
 * UNKNOWN: a status this reader's schema does not know (the enum default; writers never write it).
 */
export type DeviceStatus = 'UNKNOWN' | 'NEW' | 'ACTIVE' | 'RETIRED';

/**
 * What this record reports. FIRST_SEEN: the first uplink from an unknown device
 * (auto-registration). UPDATED: registry attributes changed. SEEN: the device was heard again
 * (lastSeenAt, battery, signal), emitted at most at the registry's throttle interval. REPLACED: the
 * device replaced another in the same slot, or was replaced. RETIRED: the device was retired.
 * UNKNOWN: a change this reader's schema does not know (the enum default; writers never write it).
 */
export type DeviceChange = 'UNKNOWN' | 'FIRST_SEEN' | 'UPDATED' | 'SEEN' | 'REPLACED' | 'RETIRED';

/**
 * Consumption of one cumulative register over one local day or month, recomputed when late readings
 * arrive. Topics consumption.daily.v1 and consumption.monthly.v1 (compacted), key
 * `{registerId}|{periodStartAt as ISO-8601}`: the last record per key is the current figure.
 */
export interface Consumption {
  /**
   * Registry id of the register (the metering point's register slot, which outlives meter
   * replacements). Never contains `|`.
   */
  registerId: string;
  /** Device whose readings end the period (after a meter replacement, the new device). */
  deviceId: string;
  /** Register within the device, as in Reading, e.g. `volume` or `energy.tariff1`. */
  registerKey: string;
  /** Registry id of the owning organisation; null while unassigned. */
  organisationId: string | null;
  /** Registry id of the site; null while not installed. */
  siteId: string | null;
  /** Period length; DAILY on consumption.daily.v1, MONTHLY on consumption.monthly.v1. */
  granularity: ConsumptionGranularity;
  /**
   * Start of the period, inclusive (UTC epoch milliseconds): local midnight, or
   * billingDayStartHour, in timeZone.
   */
  periodStartAt: number;
  /** End of the period, exclusive (UTC epoch milliseconds): the start of the next period. */
  periodEndAt: number;
  /**
   * The period as a local calendar label in timeZone: `YYYY-MM-DD` (DAILY) or `YYYY-MM` (MONTHLY),
   * the local date or month on which the period starts.
   */
  localPeriod: string;
  /** IANA time zone of the site that defines the local calendar, e.g. `Europe/Minsk`. */
  timeZone: string;
  /**
   * Local hour (0 to 23) at which the register's day starts, e.g. 10 for a gas day from 10:00; 0
   * for calendar days.
   */
  billingDayStartHour: number;
  /**
   * Register value at periodStartAt, in unit, measured or interpolated (exact decimal, scale 9).
   */
  startValue: string;
  /**
   * Register value at periodEndAt, in unit (exact decimal, scale 9); null while the period is open.
   */
  endValue: string | null;
  /**
   * Consumption over the period, in unit (exact decimal, scale 9): endValue − startValue, plus the
   * wrap of each rollover, summed across meter replacements; null while the period is open.
   */
  delta: string | null;
  /** Canonical unit of the values, as in Reading (m3, Wh, …). */
  unit: string;
  /** Quality of the boundary values. */
  quality: ConsumptionQuality;
  /** Settlement status; billing takes FINAL and receives RESTATED as corrections. */
  status: ResultStatus;
  /** True while no reading after periodEndAt has arrived yet (endValue and delta are null). */
  open: boolean;
  /**
   * 1 for the first result for this key, then 1 more for each changed result; a re-emission of an
   * unchanged result keeps its revision. Consumers ignore a record whose revision is not above the
   * one they hold (the Elasticsearch external version).
   */
  revision: number;
  /** Number of register wraps past the maximum inside the period. */
  rollovers: number;
  /** Number of meter replacements inside the period. */
  meterReplacements: number;
  /** When this revision was computed (UTC epoch milliseconds). */
  computedAt: number;
}

/**
 * Length of a consumption period. DAILY: one local (billing) day, 23 to 25 hours. MONTHLY: one
 * local (billing) month. UNKNOWN: a granularity this reader's schema does not know (the enum
 * default; writers never write it).
 */
export type ConsumptionGranularity = 'UNKNOWN' | 'DAILY' | 'MONTHLY';

/**
 * How the boundary values were obtained, the worse of the two boundaries. MEASURED: a reading at
 * the boundary instant. INTERPOLATED: linear interpolation between readings around the boundary.
 * ESTIMATED: the gap around a boundary exceeded the register's maximum gap. UNKNOWN: a quality this
 * reader's schema does not know (the enum default; writers never write it).
 */
export type ConsumptionQuality = 'UNKNOWN' | 'MEASURED' | 'INTERPOLATED' | 'ESTIMATED';

/**
 * Settlement status of a computed result. PROVISIONAL: open, or inside the grace window; may still
 * change. FINAL: the grace window has passed; billable. RESTATED: changed after it was FINAL; a
 * correction of what was billed. UNKNOWN: a status this reader's schema does not know (the enum
 * default; writers never write it).
 */
export type ResultStatus = 'UNKNOWN' | 'PROVISIONAL' | 'FINAL' | 'RESTATED';

/**
 * Statistics of one greenhouse gas at one monitoring station over one hour or local day, as mole
 * fraction and as mass concentration at the station's own temperature and pressure. Topics
 * concentration.hourly.v1 and concentration.daily.v1 (compacted), key
 * `{stationId}|{gas}|{periodStartAt as ISO-8601}`.
 */
export interface Concentration {
  /**
   * Station id as in Device.stationId; the station's deviceId is `station:{stationId}`. Never
   * contains `|`.
   */
  stationId: string;
  /** Registry id of the owning organisation; null while unassigned. */
  organisationId: string | null;
  /** Registry id of the site the station stands at; null while not installed. */
  siteId: string | null;
  /** The gas these statistics are for. */
  gas: Gas;
  /** Period length; HOURLY on concentration.hourly.v1, DAILY on concentration.daily.v1. */
  granularity: ConcentrationGranularity;
  /** Start of the period, inclusive (UTC epoch milliseconds). */
  periodStartAt: number;
  /** End of the period, exclusive (UTC epoch milliseconds). */
  periodEndAt: number;
  /**
   * IANA time zone of the site, which defines the local days of DAILY periods, e.g. `Europe/Minsk`.
   */
  timeZone: string;
  /**
   * Number of valid samples in the period (at least 1; periods without samples produce no record).
   */
  count: number;
  /** Number of samples expected in the period from the station's reporting interval. */
  expectedCount: number;
  /** count / expectedCount, capped at 1 (0 to 1). */
  completeness: number;
  /** Mean mole fraction over the samples, in ppm (µmol/mol). */
  meanPpm: number;
  /** Lowest sample mole fraction, in ppm. */
  minPpm: number;
  /** Highest sample mole fraction, in ppm. */
  maxPpm: number;
  /**
   * Mean mass concentration, in mg/m³: the mean over samples of x·M·P/(R·T)/1000, each sample with
   * the station's own temperature and pressure (R = 8.314462618 J/(mol·K)).
   */
  meanMgPerM3: number;
  /**
   * Lowest sample mass concentration, in mg/m³ (each sample at its own temperature and pressure, so
   * not necessarily the sample with minPpm).
   */
  minMgPerM3: number;
  /**
   * Highest sample mass concentration, in mg/m³ (each sample at its own temperature and pressure).
   */
  maxMgPerM3: number;
  /** Mean air temperature reported by the station over the samples, in kelvin. */
  meanTemperatureK: number;
  /** Mean air pressure reported by the station over the samples, in pascals. */
  meanPressurePa: number;
  /** CO₂-equivalent mass concentration, in mg/m³: meanMgPerM3 × gwp100. */
  co2eMgPerM3: number;
  /** Name of the GWP100 set used, e.g. `IPCC-AR6`, `IPCC-AR5`, `IPCC-AR4`. */
  gwpSet: string;
  /**
   * 100-year global warming potential applied from gwpSet (dimensionless; 1 for CO2, e.g. 27.9 for
   * non-fossil CH4 in AR6).
   */
  gwp100: number;
  /**
   * 1 for the first result for this key, then 1 more for each changed result (late samples);
   * consumers ignore a record whose revision is not above the one they hold (the Elasticsearch
   * external version).
   */
  revision: number;
  /** When this revision was computed (UTC epoch milliseconds). */
  computedAt: number;
}

/**
 * Greenhouse gas. CO2: carbon dioxide (M = 44.0095 g/mol). CH4: methane (16.0425 g/mol). N2O:
 * nitrous oxide (44.0128 g/mol). UNKNOWN: a gas this reader's schema does not know (the enum
 * default; writers never write it).
 */
export type Gas = 'UNKNOWN' | 'CO2' | 'CH4' | 'N2O';

/**
 * Length of a concentration period. HOURLY: one hour, starting on a whole hour of the local clock
 * in timeZone. DAILY: one local day in timeZone, 23 to 25 hours. UNKNOWN: a granularity this
 * reader's schema does not know (the enum default; writers never write it).
 */
export type ConcentrationGranularity = 'UNKNOWN' | 'HOURLY' | 'DAILY';

/**
 * Monthly greenhouse-gas emissions of one organisation in one scope: monthly consumption of its
 * gas, electricity and heat registers times emission factors, recomputed when consumption or a
 * factor changes. Topic footprint.monthly.v1 (compacted), key `{organisationId}|{month}|{scope}`.
 */
export interface Footprint {
  /** Registry id of the organisation. Never contains `|`. */
  organisationId: string;
  /** The month, `YYYY-MM`: the localPeriod of the monthly consumption records included. */
  month: string;
  /**
   * Earliest periodStartAt of the included monthly consumption records, inclusive (UTC epoch
   * milliseconds).
   */
  periodStartAt: number;
  /**
   * Latest periodEndAt of the included monthly consumption records, exclusive (UTC epoch
   * milliseconds).
   */
  periodEndAt: number;
  /** Scope of these emissions. */
  scope: EmissionScope;
  /**
   * Total emissions, in kg CO₂e (exact decimal, scale 9): the sum of the lines' emissionsKgCo2e.
   */
  emissionsKgCo2e: string;
  /** One line per register contributing to this scope and month, ordered by registerId. */
  lines: FootprintLine[];
  /**
   * PROVISIONAL while any line's consumption is PROVISIONAL; FINAL when all are FINAL; RESTATED
   * when it changes after being FINAL.
   */
  status: ResultStatus;
  /**
   * 1 for the first result for this key, then 1 more for each changed result (consumption restated,
   * factor changed); consumers ignore a record whose revision is not above the one they hold (the
   * Elasticsearch external version).
   */
  revision: number;
  /** When this revision was computed (UTC epoch milliseconds). */
  computedAt: number;
}

/**
 * GHG Protocol scope. SCOPE_1: direct emissions from fuel burnt on site (gas). SCOPE_2: indirect
 * emissions from purchased electricity and heat. UNKNOWN: a scope this reader's schema does not
 * know (the enum default; writers never write it).
 */
export type EmissionScope = 'UNKNOWN' | 'SCOPE_1' | 'SCOPE_2';

/**
 * The contribution of one register: its monthly consumption times the emission factor that applies
 * to it.
 */
export interface FootprintLine {
  /** Resource the register meters. */
  resource: FootprintResource;
  /** Registry id of the register, as in Consumption. */
  registerId: string;
  /** The register's monthly consumption (Consumption.delta), in unit (exact decimal, scale 9). */
  consumption: string;
  /** revision of the monthly Consumption record used. */
  consumptionRevision: number;
  /** Canonical unit of consumption, as in Consumption (m3, Wh). */
  unit: string;
  /**
   * Emission factor, in kg CO₂e per one unit of consumption (e.g. per Wh, not per kWh) (exact
   * decimal, scale 9).
   */
  factorKgCo2ePerUnit: string;
  /** Registry id of the emission factor (one version of one factor). */
  factorId: string;
  /** Publication the factor comes from, e.g. `DEFRA 2025` or a supplier's disclosure. */
  factorSource: string;
  /** Region the factor applies to, e.g. an ISO 3166 code such as `BY` or a grid region name. */
  region: string;
  /**
   * consumption × factorKgCo2ePerUnit, in kg CO₂e, rounded half-even to scale 9 (exact decimal).
   */
  emissionsKgCo2e: string;
}

/**
 * Resource consumed. GAS: natural gas burnt on site (scope 1). ELECTRICITY: purchased electricity
 * (scope 2). HEAT: purchased heat (scope 2). UNKNOWN: a resource this reader's schema does not know
 * (the enum default; writers never write it).
 */
export type FootprintResource = 'UNKNOWN' | 'GAS' | 'ELECTRICITY' | 'HEAT';

/**
 * A state change of one problem with one device: raised, updated, cleared or acknowledged. Topic
 * alert.v1, key deviceId.
 */
export interface Alert {
  /**
   * Deterministic id of the problem, `{kind}|{deviceId}|{subject or empty}`; every state change of
   * the problem, and a recurrence after CLEARED, carries the same id.
   */
  alertId: string;
  /** Device the problem concerns (`lorawan:…`, `mbus:…`, `station:…`) and the Kafka key. */
  deviceId: string;
  /** Registry id of the owning organisation; null while unassigned. */
  organisationId: string | null;
  /** Registry id of the site; null while not installed. */
  siteId: string | null;
  /** Kind of problem. */
  kind: AlertKind;
  /**
   * What on the device the problem concerns, when more than the device: a registerKey
   * (CONTINUOUS_FLOW, SUSPECTED_RESET), a gas symbol (CONCENTRATION_THRESHOLD) or a diagnostic code
   * (STATION_DIAGNOSTIC, MBUS_STATUS_ERROR); null otherwise.
   */
  subject: string | null;
  /** Current severity; may change on UPDATED. */
  severity: AlertSeverity;
  /** State of the problem after this change. */
  state: AlertState;
  /** One human-readable sentence for operators, e.g. `Volume advanced for 26 h without a pause`. */
  message: string;
  /** When this occurrence of the problem started, in event time (UTC epoch milliseconds). */
  raisedAt: number;
  /** When this change happened, in event time (UTC epoch milliseconds). */
  updatedAt: number;
  /** When the problem ended (UTC epoch milliseconds); null while present. */
  clearedAt: number | null;
  /** When an operator acknowledged this occurrence (UTC epoch milliseconds); null until then. */
  acknowledgedAt: number | null;
  /** Registry id of the user who acknowledged this occurrence; null until then. */
  acknowledgedBy: string | null;
  /**
   * Facts behind the alert, as text with units in the keys, e.g. `thresholdPpm`, `lastValue`,
   * `silentForMs`.
   */
  details: Record<string, string>;
  /**
   * 1 for the first record of this alertId, then 1 more for each change; consumers ignore a record
   * whose revision is not above the one they hold (the Elasticsearch external version).
   */
  revision: number;
}

/**
 * Kind of problem. DEVICE_SILENT: no uplink for longer than the device's expected interval allows.
 * CONTINUOUS_FLOW: a register advanced without pause for longer than the threshold (leak).
 * SUSPECTED_RESET: a register went back without a wrap; its reading is quarantined.
 * CONCENTRATION_THRESHOLD: a gas concentration crossed a configured threshold. STATION_DIAGNOSTIC:
 * a station reported a diagnostic fault. LOW_BATTERY: the battery fell below the threshold.
 * MBUS_STATUS_ERROR: the M-Bus status byte reported an error. NEW_DEVICE: an unknown device was
 * auto-registered and awaits confirmation. BILLING_BLOCKED: a closed period of a billing account
 * cannot be exported (register without an account, account without a tariff, a tariff gap); the
 * subject names the account or register. UNKNOWN: a kind this reader's schema does not know (the
 * enum default; writers never write it).
 */
export type AlertKind =
  | 'UNKNOWN'
  | 'DEVICE_SILENT'
  | 'CONTINUOUS_FLOW'
  | 'SUSPECTED_RESET'
  | 'CONCENTRATION_THRESHOLD'
  | 'STATION_DIAGNOSTIC'
  | 'LOW_BATTERY'
  | 'MBUS_STATUS_ERROR'
  | 'NEW_DEVICE'
  | 'BILLING_BLOCKED';

/**
 * How urgent the problem is. INFO: for the record. WARNING: needs attention. CRITICAL: needs action
 * now (e.g. a leak). UNKNOWN: a severity this reader's schema does not know (the enum default;
 * writers never write it).
 */
export type AlertSeverity = 'UNKNOWN' | 'INFO' | 'WARNING' | 'CRITICAL';

/**
 * State after this change. RAISED: the problem started. UPDATED: still present, with new details or
 * severity. CLEARED: the problem ended. ACKNOWLEDGED: an operator acknowledged it while present.
 * UNKNOWN: a state this reader's schema does not know (the enum default; writers never write it).
 */
export type AlertState = 'UNKNOWN' | 'RAISED' | 'UPDATED' | 'CLEARED' | 'ACKNOWLEDGED';

/**
 * Input that could not be used, kept with its exact bytes, the reason and where it came from, so it
 * can be inspected and re-driven after a fix. Topics `<topic>.dlq` (uplink.raw.v1.dlq,
 * reading.v1.dlq), key as the input record's.
 */
export interface DeadLetter {
  /**
   * Id of this dead letter: `{stage}|{originalTopic}|{originalPartition}|{originalOffset}` for
   * input read from Kafka, so retries cannot duplicate it; a UUID for input a connector rejected
   * before Kafka.
   */
  deadLetterId: string;
  /** Topic the input was read from; null when a connector rejected it before writing to Kafka. */
  originalTopic: string | null;
  /** Partition the input was read from; null when originalTopic is null. */
  originalPartition: number | null;
  /** Offset of the input in its partition; null when originalTopic is null. */
  originalOffset: number | null;
  /** Exact key bytes of the input record; null when it had no key or did not come from Kafka. */
  originalKey: Buffer | null;
  /**
   * Exact bytes of the input: the Kafka record value (Confluent wire format included), or what a
   * connector received (frame, telegram, request body).
   */
  originalValue: Buffer;
  /**
   * Kafka headers of the input record (the last value of a repeated header); empty when it did not
   * come from Kafka.
   */
  originalHeaders: Record<string, Buffer>;
  /**
   * Stable machine code of the reason in upper snake case, e.g. WRONG_MAGIC_BYTE,
   * UNKNOWN_SCHEMA_ID, TRUNCATED, SCHEMA_VALIDATION, MBUS_BAD_CHECKSUM, UNKNOWN_DEVICE,
   * DECRYPTION_FAILED; consumers match on it, never on reasonMessage.
   */
  reasonCode: string;
  /**
   * Human-readable explanation saying what was expected and what arrived, e.g. `checksum: expected
   * 0x9f, got 0x1c`.
   */
  reasonMessage: string;
  /**
   * Dotted paths of the offending fields when the reason is a validation failure, e.g.
   * `reading.value`; empty otherwise.
   */
  paths: string[];
  /**
   * Pipeline stage that rejected the input: connector, decode, consumption, concentration,
   * footprint, alerts or index.
   */
  stage: string;
  /**
   * Instance that rejected it: the connector name (as RawUplink.connector) or the worker's consumer
   * group.
   */
  component: string;
  /** Device the input came from, when it could be determined. */
  deviceId: string | null;
  /**
   * Transport the input arrived over, as a RawUplink transport symbol (e.g. MBUS_TCP), when known.
   */
  transport: string | null;
  /** When the input was rejected (UTC epoch milliseconds). */
  failedAt: number;
  /** 1 for the first rejection, 1 more each time a re-drive of the same input is rejected again. */
  attempt: number;
  /**
   * Further context as text, e.g. `schemaId`, `byteOffset`, the connector's `sourceAddress`; never
   * credentials.
   */
  details: Record<string, string>;
}

/** Each top-level record's type by record name, e.g. `RecordTypes['Reading']`. */
export interface RecordTypes {
  RawUplink: RawUplink;
  Reading: Reading;
  Device: Device;
  Consumption: Consumption;
  Concentration: Concentration;
  Footprint: Footprint;
  Alert: Alert;
  DeadLetter: DeadLetter;
}
