-- The billing export connector (connectors/billing): what it needs beyond 0001's accounts, tariffs
-- and export_batches. The monthly consumption it received, the export ledger with the files'
-- bytes and the register-revisions each batch exported (exported once per format), and the
-- problems that hold exports back, for the API to show.

-- Accounts and tariffs meet in a tariff group (e.g. households, businesses), per resource.
ALTER TABLE billing_accounts
  ADD COLUMN tariff_group text NOT NULL DEFAULT 'default';
ALTER TABLE tariffs
  ADD COLUMN tariff_group text NOT NULL DEFAULT 'default',
  ADD CONSTRAINT tariffs_valid_range CHECK (valid_to IS NULL OR valid_to > valid_from);
CREATE INDEX tariffs_lookup ON tariffs (organisation_id, tariff_group, resource, valid_from);

-- The resource a mapped register meters, which selects its tariff; NULL: not priced (ERIP held back).
-- valid_to is exclusive: the first day the register no longer belongs to the account.
ALTER TABLE billing_account_registers
  ADD COLUMN resource text CHECK (resource IN ('gas', 'electricity', 'heat', 'water')),
  ADD CONSTRAINT billing_account_registers_valid_range CHECK (valid_to IS NULL OR valid_to > valid_from);
CREATE INDEX billing_account_registers_register ON billing_account_registers (register_id, valid_from);

-- The newest revision of each monthly Consumption record (consumption.monthly.v1), as received.
-- No foreign key to registers: a record for a register the registry does not know is a problem to show.
CREATE TABLE billing_consumption (
  register_id      text NOT NULL,
  period_start_at  timestamptz NOT NULL,
  period_end_at    timestamptz NOT NULL,
  local_period     text NOT NULL CHECK (local_period ~ '^\d{4}-\d{2}$'),
  device_id        text NOT NULL,
  register_key     text NOT NULL,
  organisation_id  text,
  status           text NOT NULL CHECK (status IN ('PROVISIONAL', 'FINAL', 'RESTATED')),
  revision         bigint NOT NULL CHECK (revision >= 1),
  start_value      numeric(38, 9) NOT NULL,
  end_value        numeric(38, 9),
  delta            numeric(38, 9),
  unit             text NOT NULL,
  quality          text NOT NULL,
  computed_at      timestamptz NOT NULL,
  received_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (register_id, period_start_at)
);
CREATE INDEX billing_consumption_period ON billing_consumption (local_period, register_id);

-- The ledger: pending (planned, lines claimed, file rendered) → written (the file is at the
-- destination) → acknowledged (the billing system confirmed it). `failed` is kept for batches an
-- operator withdraws.
ALTER TABLE export_batches
  ADD COLUMN kind text NOT NULL DEFAULT 'initial' CHECK (kind IN ('initial', 'supplement', 'correction')),
  ADD COLUMN sequence integer NOT NULL DEFAULT 1 CHECK (sequence >= 1),
  ADD COLUMN encoding text NOT NULL DEFAULT 'utf-8' CHECK (encoding IN ('utf-8', 'windows-1251')),
  ADD COLUMN file_name text,
  ADD COLUMN location text,                            -- where the file was written: file:// or s3:// URL
  ADD COLUMN byte_count bigint CHECK (byte_count >= 0),
  ADD COLUMN line_count integer NOT NULL DEFAULT 0,    -- rows (1C) or payment requests (ERIP)
  ADD COLUMN account_count integer NOT NULL DEFAULT 0,
  ADD COLUMN consumption_totals jsonb NOT NULL DEFAULT '{}',  -- unit → exact decimal text, the sum of the lines
  ADD COLUMN amount_totals jsonb NOT NULL DEFAULT '{}',       -- currency → exact decimal text (ERIP)
  ADD COLUMN written_at timestamptz,
  ADD COLUMN attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN last_error text,
  -- The pull API's cursor: assigned when a batch becomes written, so listing in cursor order never
  -- skips a batch that was written later with a lower id.
  ADD COLUMN pull_cursor bigint UNIQUE,
  ADD COLUMN acknowledged_by text,                     -- api_tokens.id of the acknowledging client
  ADD CONSTRAINT export_batches_state CHECK (state IN ('pending', 'written', 'acknowledged', 'failed')),
  ADD CONSTRAINT export_batches_format CHECK (format IN ('1c-csv', '1c-xml', 'erip')),
  ADD CONSTRAINT export_batches_period CHECK (period ~ '^\d{4}-\d{2}$'),
  ADD CONSTRAINT export_batches_sequence UNIQUE (organisation_id, period, format, sequence);
CREATE SEQUENCE export_batches_pull_cursor OWNED BY export_batches.pull_cursor;
CREATE INDEX export_batches_pending ON export_batches (state) WHERE state = 'pending';

-- The rendered file, so a resumed export writes exactly the bytes whose checksum the ledger holds.
CREATE TABLE export_batch_files (
  batch_id  text PRIMARY KEY REFERENCES export_batches (id),
  content   bytea NOT NULL
);

-- Each register-revision a batch exports. The unique key is the promise: nothing is exported
-- twice for the same revision in the same format.
CREATE TABLE export_batch_lines (
  batch_id            text NOT NULL REFERENCES export_batches (id),
  format              text NOT NULL,
  period              text NOT NULL,
  register_id         text NOT NULL,
  period_start_at     timestamptz NOT NULL,
  revision            bigint NOT NULL,
  billing_account_id  text NOT NULL,
  UNIQUE (format, register_id, period_start_at, revision)
);
CREATE INDEX export_batch_lines_period ON export_batch_lines (period, format, register_id);
CREATE INDEX export_batch_lines_batch ON export_batch_lines (batch_id);

-- What each ERIP batch billed per account and resource: the previous amount of a correction.
CREATE TABLE export_billed_amounts (
  batch_id            text NOT NULL REFERENCES export_batches (id),
  billing_account_id  text NOT NULL,
  resource            text NOT NULL,
  period              text NOT NULL,
  amount              numeric(20, 2) NOT NULL,
  currency            char(3) NOT NULL,
  PRIMARY KEY (billing_account_id, resource, period, batch_id)
);

-- What holds an export back, with the reason; resolved_at is set once it no longer does.
CREATE TABLE billing_problems (
  id                  text PRIMARY KEY,                -- {reason}|{subject}|{period}
  reason              text NOT NULL,
  period              text NOT NULL,
  organisation_id     text,
  billing_account_id  text,
  register_id         text,
  device_id           text,
  resource            text,
  formats             text[] NOT NULL,
  message             text NOT NULL,
  first_seen_at       timestamptz NOT NULL DEFAULT now(),
  last_seen_at        timestamptz NOT NULL DEFAULT now(),
  resolved_at         timestamptz,
  -- Revision of the Alert that states the problem now (raised, cleared, raised again…), and the
  -- revision last written to alert.v1: an alert is re-sent until the two agree.
  alert_revision      bigint NOT NULL DEFAULT 1,
  alerted_revision    bigint NOT NULL DEFAULT 0
);
CREATE INDEX billing_problems_open ON billing_problems (period) WHERE resolved_at IS NULL;
CREATE INDEX billing_problems_unalerted ON billing_problems (id) WHERE alerted_revision < alert_revision;
