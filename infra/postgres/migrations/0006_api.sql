-- What the GraphQL API (graphql/) keeps beyond 0001: tokens limited to access groups, alert
-- acknowledgements, and the indexes its filters and text search use.

-- A token with rows here sees only the devices of these access groups (and what derives from them:
-- registers, readings, consumption, alerts); a token without rows sees its whole organisation.
CREATE TABLE api_token_access_groups (
  token_id         text NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
  access_group_id  text NOT NULL REFERENCES access_groups (id) ON DELETE CASCADE,
  PRIMARY KEY (token_id, access_group_id)
);
CREATE INDEX api_token_access_groups_group ON api_token_access_groups (access_group_id);

-- Who acknowledged an alert and when. The API merges it into alerts raised at or before
-- acknowledged_at; a later raise of the same alert is open again.
CREATE TABLE alert_acknowledgements (
  alert_id         text PRIMARY KEY,
  organisation_id  text NOT NULL REFERENCES organisations (id),
  acknowledged_at  timestamptz NOT NULL,
  acknowledged_by  text NOT NULL,                       -- api_tokens.id of the caller
  note             text
);
CREATE INDEX alert_acknowledgements_organisation ON alert_acknowledgements (organisation_id, acknowledged_at);

-- Which token created a token (NULL for tokens made by set-up scripts).
ALTER TABLE api_tokens
  ADD COLUMN created_by  text REFERENCES api_tokens (id);
CREATE INDEX api_tokens_organisation ON api_tokens (organisation_id);

-- Device filters of the API: by group, status and model within an organisation; text search on
-- serial numbers and site addresses.
CREATE INDEX devices_access_group ON devices (access_group_id);
CREATE INDEX devices_organisation_status ON devices (organisation_id, status);
CREATE INDEX devices_serial_number ON devices (lower(serial_number) text_pattern_ops);
CREATE INDEX registers_device ON registers (device_id);

-- Emission factors an organisation maintains itself (its supplier's disclosure, a local grid
-- factor). NULL: a published factor shared by every organisation, maintained by set-up, read-only
-- through the API; so no tenant can change another tenant's footprint.
ALTER TABLE emission_factors ADD COLUMN organisation_id text REFERENCES organisations (id);
CREATE INDEX emission_factors_organisation ON emission_factors (organisation_id);
