-- What the decode stage (streams/decode) keeps in the registry beyond 0001: the facts of
-- auto-registration, the shared device.v1 revision, TS013 codec scripts, and the record of
-- dead letters the re-drive command has re-driven.

ALTER TABLE devices
  ADD COLUMN battery_volts    real,
  -- uplinkId of the uplink whose decode auto-registered the device; NULL for devices people created.
  -- Lets a decode batch that registered the device and then aborted recognise its own row on retry.
  ADD COLUMN first_uplink_id  text,
  -- Highest device.v1 revision written for the device by anyone; every writer of device.v1 raises it.
  ADD COLUMN revision         bigint NOT NULL DEFAULT 0 CHECK (revision >= 0);

COMMENT ON COLUMN registers.digits IS
  'Digits of the register counter, fraction digits included (the odometer, or the BCD width): it wraps after 10^digits steps of its resolution. NULL: unknown, decode assumes 8.';

-- Vendor codecs in the LoRa Alliance TS013 form, used by devices whose codec is `ts013:<name>`.
CREATE TABLE ts013_codecs (
  name          text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._-]+$'),
  script        text NOT NULL,                    -- defines function decodeUplink(input)
  fport_filter  integer[] CHECK (1 <= ALL (fport_filter) AND 223 >= ALL (fport_filter)),  -- data ports; NULL: every port
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Dead letters the re-drive command has re-produced to their original topic, so none is re-driven twice.
CREATE TABLE redriven_dead_letters (
  dead_letter_id      text PRIMARY KEY,             -- DeadLetter.deadLetterId
  reason_code         text NOT NULL,
  device_id           text,
  original_topic      text NOT NULL,
  original_partition  integer NOT NULL,
  original_offset     bigint NOT NULL,
  redriven_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX redriven_dead_letters_device ON redriven_dead_letters (device_id);
