/**
 * Semantic version of the decoders. Each uplink is stamped `{decoder}@{DECODER_VERSION}` (see
 * `DecodedUplink.decoderVersion`); raise it with every change that can change a decoded value, so
 * a replay can tell old decodes from new.
 */
export const DECODER_VERSION = '1.0.0';
