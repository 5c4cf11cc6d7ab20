-- What a device reports about itself beyond battery and signal: its position (a GHG station with a
-- satellite receiver puts it in its telemetry) and its firmware version (station status). Decode
-- (streams/decode) writes the last reported values and keeps them while later uplinks omit them;
-- device.v1 and the devices index (geo_point `location`) carry them. NULL: never reported.
-- A site's coordinates stay on `sites`: these are the device's own, and a meter has none.

ALTER TABLE devices
  ADD COLUMN latitude          double precision CHECK (latitude BETWEEN -90 AND 90),
  ADD COLUMN longitude         double precision CHECK (longitude BETWEEN -180 AND 180),
  ADD COLUMN firmware_version  text,
  ADD CONSTRAINT devices_position_complete CHECK ((latitude IS NULL) = (longitude IS NULL));

COMMENT ON COLUMN devices.latitude IS
  'Latitude the device last reported for itself, degrees north (WGS 84); NULL while it reported none. Set together with longitude.';
COMMENT ON COLUMN devices.longitude IS
  'Longitude the device last reported for itself, degrees east (WGS 84); NULL while it reported none. Set together with latitude.';
COMMENT ON COLUMN devices.firmware_version IS
  'Firmware version as the device last reported it (GHG station status), e.g. 2.4.1; NULL while it reported none.';
