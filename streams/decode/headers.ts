/**
 * Kafka headers the re-drive command puts on the uplinks it re-produces (the value and key stay
 * the bytes they were). Decode reads the registry, keys and codecs afresh for such an uplink,
 * since a re-drive follows an operator's fix.
 */

/** The deadLetterId the uplink is re-driven from. */
export const REDRIVEN_FROM_HEADER = 'meterflux-redriven-from';

/** How many times this uplink has been re-driven, as decimal text (1 for the first re-drive). */
export const REDRIVE_COUNT_HEADER = 'meterflux-redrive-count';
