-- What the alerts worker (streams/alerts) reads beyond 0001: concentration thresholds per
-- organisation, station and gas, for CONCENTRATION_THRESHOLD alerts. Several rows for one gas are
-- levels (e.g. WARNING at 1000 ppm, CRITICAL at 5000 ppm): the alert takes the severity of the
-- highest level held. Rows naming a station replace the organisation-wide rows for that station
-- and gas. IF NOT EXISTS: the table may have been created by hand on a development database
-- before this migration was recorded.

CREATE TABLE IF NOT EXISTS concentration_thresholds (
  id                 text PRIMARY KEY,
  organisation_id    text NOT NULL REFERENCES organisations (id),
  -- The station's device id (`station:{stationId}`); NULL: every station of the organisation.
  station_device_id  text REFERENCES devices (id),
  gas                text NOT NULL CHECK (gas IN ('CO2', 'CH4', 'N2O')),   -- Alert.subject, the Gas enum symbol
  threshold_ppm      double precision NOT NULL CHECK (threshold_ppm > 0),  -- raised at or above this mole fraction
  severity           text NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
  -- Held until the value falls below threshold_ppm - hysteresis_ppm, so a value wavering around
  -- the threshold does not raise and clear the alert over and over.
  hysteresis_ppm     double precision NOT NULL DEFAULT 0 CHECK (hysteresis_ppm >= 0 AND hysteresis_ppm < threshold_ppm),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE NULLS NOT DISTINCT (organisation_id, station_device_id, gas, threshold_ppm)
);
CREATE INDEX IF NOT EXISTS concentration_thresholds_organisation ON concentration_thresholds (organisation_id);
