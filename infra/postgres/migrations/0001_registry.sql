-- The registry and everything people edit: organisations, sites, devices and their registers,
-- device keys, access groups, users, API tokens, billing accounts, tariffs, emission factors and
-- export batches. Kafka holds the events; this holds the master data the pipeline joins against.

CREATE TABLE organisations (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sites (
  id               text PRIMARY KEY,
  organisation_id  text NOT NULL REFERENCES organisations (id),
  name             text NOT NULL,
  address          text,
  time_zone        text NOT NULL DEFAULT 'UTC',      -- IANA zone; periods follow it
  latitude         double precision CHECK (latitude BETWEEN -90 AND 90),
  longitude        double precision CHECK (longitude BETWEEN -180 AND 180),
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sites_organisation ON sites (organisation_id);

CREATE TABLE access_groups (
  id               text PRIMARY KEY,
  organisation_id  text NOT NULL REFERENCES organisations (id),
  name             text NOT NULL,
  UNIQUE (organisation_id, name)
);

CREATE TYPE device_status AS ENUM ('new', 'active', 'retired');

CREATE TABLE devices (
  id                       text PRIMARY KEY,            -- the Kafka key: DevEUI, M-Bus secondary address, station id
  organisation_id          text REFERENCES organisations (id),   -- NULL until an operator claims a new device
  site_id                  text REFERENCES sites (id),
  access_group_id          text REFERENCES access_groups (id),
  mbus_secondary_address   text UNIQUE,
  dev_eui                  text UNIQUE,
  station_id               text UNIQUE,
  manufacturer             text,                        -- 3-letter FLAG code
  model                    text,
  device_version           integer,
  medium                   text,
  codec                    text,                        -- device profile: mbus, ts013:<name>, station-json…
  serial_number            text,
  status                   device_status NOT NULL DEFAULT 'new',
  expected_interval_s      integer CHECK (expected_interval_s > 0),
  first_seen_at            timestamptz,
  last_seen_at             timestamptz,
  battery_percent          real,
  rssi_dbm                 real,
  snr_db                   real,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_organisation ON devices (organisation_id);
CREATE INDEX devices_site ON devices (site_id);

CREATE TABLE registers (
  id                        text PRIMARY KEY,           -- deviceId/registerKey
  device_id                 text NOT NULL REFERENCES devices (id),
  register_key              text NOT NULL,              -- e.g. volume, energy.tariff1
  quantity                  text NOT NULL,
  unit                      text NOT NULL,              -- canonical unit
  multiplier                numeric(30, 12) NOT NULL DEFAULT 1,
  digits                    integer CHECK (digits BETWEEN 1 AND 20),  -- bounds the value: rollover at 10^digits
  cumulative                boolean NOT NULL DEFAULT false,
  max_gap_s                 integer CHECK (max_gap_s > 0),          -- longer gaps around a boundary: quality estimated
  billing_day_start_hour    smallint NOT NULL DEFAULT 0 CHECK (billing_day_start_hour BETWEEN 0 AND 23),
  replaced_at               timestamptz,                -- meter replacement closes this chain
  created_at                timestamptz NOT NULL DEFAULT now(),
  UNIQUE (device_id, register_key)
);

CREATE TABLE device_keys (
  device_id       text PRIMARY KEY REFERENCES devices (id),
  key_ciphertext  bytea NOT NULL,                       -- AES key sealed with DEVICE_KEY_ENCRYPTION_KEY (AES-256-GCM)
  key_nonce       bytea NOT NULL,
  key_tag         bytea NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id               text PRIMARY KEY,
  organisation_id  text NOT NULL REFERENCES organisations (id),
  email            text NOT NULL UNIQUE,
  display_name     text,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_access_groups (
  user_id          text NOT NULL REFERENCES users (id),
  access_group_id  text NOT NULL REFERENCES access_groups (id),
  PRIMARY KEY (user_id, access_group_id)
);

CREATE TABLE api_tokens (
  id               text PRIMARY KEY,
  organisation_id  text NOT NULL REFERENCES organisations (id),
  name             text NOT NULL,
  secret_sha256    bytea NOT NULL UNIQUE,               -- the secret is shown once and never stored
  scopes           text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'write', 'admin', 'ingest']),
  created_at       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz,
  revoked_at       timestamptz
);

CREATE TABLE billing_accounts (
  id               text PRIMARY KEY,
  organisation_id  text NOT NULL REFERENCES organisations (id),
  account_number   text NOT NULL,                       -- personal account number in the billing system
  address          text,
  UNIQUE (organisation_id, account_number)
);

CREATE TABLE billing_account_registers (
  billing_account_id  text NOT NULL REFERENCES billing_accounts (id),
  register_id         text NOT NULL REFERENCES registers (id),
  valid_from          date NOT NULL,
  valid_to            date,
  PRIMARY KEY (billing_account_id, register_id, valid_from)
);

CREATE TABLE tariffs (
  id               text PRIMARY KEY,
  organisation_id  text NOT NULL REFERENCES organisations (id),
  resource         text NOT NULL,                       -- gas, electricity, heat, water
  price_per_unit   numeric(20, 6) NOT NULL CHECK (price_per_unit >= 0),
  unit             text NOT NULL,
  currency         char(3) NOT NULL,
  valid_from       date NOT NULL,
  valid_to         date
);

CREATE TABLE emission_factors (
  id                     text PRIMARY KEY,
  resource               text NOT NULL,                 -- gas, electricity, heat
  region                 text NOT NULL,
  kg_co2e_per_unit       numeric(20, 9) NOT NULL CHECK (kg_co2e_per_unit >= 0),
  unit                   text NOT NULL,
  scope                  smallint NOT NULL CHECK (scope IN (1, 2)),
  source                 text NOT NULL,                 -- publication the factor comes from
  valid_from             date NOT NULL,
  valid_to               date
);

CREATE TABLE export_batches (
  id                  text PRIMARY KEY,
  organisation_id     text NOT NULL REFERENCES organisations (id),
  period              text NOT NULL,                    -- 2026-03
  format              text NOT NULL,                    -- 1c-csv, 1c-xml, erip
  corrects_batch_id   text REFERENCES export_batches (id),
  checksum_sha256     text,
  state               text NOT NULL DEFAULT 'pending',  -- pending, written, acknowledged, failed
  created_at          timestamptz NOT NULL DEFAULT now(),
  acknowledged_at     timestamptz
);
