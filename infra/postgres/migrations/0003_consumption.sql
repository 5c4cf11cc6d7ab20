-- Meter replacements, read by the consumption stage (streams/consumption) and written by the API.
-- A replacement closes the register slot's old chain at replaced_at with old_final_value and opens
-- the next at the same instant with new_initial_value (both in the register's canonical unit,
-- after its multiplier, as Reading.value); readings at or after replaced_at belong to the new meter.
-- Consumption across it is the sum of both sides. Contract: streams/consumption/README.md.

CREATE TABLE meter_replacements (
  id                 text PRIMARY KEY,
  register_id        text NOT NULL REFERENCES registers (id),
  replaced_at        timestamptz NOT NULL,
  old_final_value    numeric(38, 9) NOT NULL,
  new_initial_value  numeric(38, 9) NOT NULL,
  new_serial_number  text,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meter_replacements_register ON meter_replacements (register_id, replaced_at);
