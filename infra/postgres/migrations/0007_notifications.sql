-- Notifications (graphql/notifications): people's alert subscriptions, operator push messages, and
-- one delivery per person, channel and event with its state history. Rows never cross
-- organisations: every table carries organisation_id and references users through (id,
-- organisation_id), so a subscription or delivery cannot name another organisation's person.

-- Target of the composite foreign keys below; users.id alone is already unique.
ALTER TABLE users ADD CONSTRAINT users_id_organisation_unique UNIQUE (id, organisation_id);

CREATE TYPE notification_channel AS ENUM ('webhook', 'email', 'in_app');
CREATE TYPE notification_state AS ENUM ('queued', 'sent', 'failed', 'read');

CREATE TABLE alert_subscriptions (
  id                text PRIMARY KEY,
  organisation_id   text NOT NULL REFERENCES organisations (id),
  user_id           text NOT NULL,
  name              text NOT NULL DEFAULT '',
  -- Filters; NULL matches everything, an array matches any of its entries.
  site_ids          text[],
  access_group_ids  text[],
  kinds             text[],                      -- Alert.kind symbols
  min_severity      text NOT NULL DEFAULT 'INFO' CHECK (min_severity IN ('INFO', 'WARNING', 'CRITICAL')),
  states            text[] NOT NULL DEFAULT ARRAY['RAISED'] CHECK (
                      cardinality(states) > 0 AND states <@ ARRAY['RAISED', 'UPDATED', 'CLEARED', 'ACKNOWLEDGED']),
  channel           notification_channel NOT NULL,
  webhook_url       text CHECK (webhook_url ~ '^https?://'),
  webhook_secret    text,                        -- HMAC-SHA256 key of the X-Meterflux-Signature header; shown once
  email             text,                        -- NULL: the user's own address
  enabled           boolean NOT NULL DEFAULT true,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  -- Soft delete: deliveries keep referring to the subscription that caused them.
  deleted_at        timestamptz,
  FOREIGN KEY (user_id, organisation_id) REFERENCES users (id, organisation_id),
  CHECK ((channel = 'webhook') = (webhook_url IS NOT NULL AND webhook_secret IS NOT NULL)),
  CHECK (channel = 'email' OR email IS NULL)
);
CREATE INDEX alert_subscriptions_matching ON alert_subscriptions (organisation_id) WHERE enabled AND deleted_at IS NULL;
CREATE INDEX alert_subscriptions_user ON alert_subscriptions (user_id);

CREATE TABLE operator_messages (
  id                text PRIMARY KEY,
  organisation_id   text NOT NULL REFERENCES organisations (id),
  token_id          text REFERENCES api_tokens (id),   -- the operator system's token that pushed it
  subject           text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
  body              text NOT NULL CHECK (length(body) <= 10000),
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operator_messages_organisation ON operator_messages (organisation_id, created_at);

CREATE TABLE notification_deliveries (
  id                text PRIMARY KEY,
  organisation_id   text NOT NULL REFERENCES organisations (id),
  user_id           text NOT NULL,
  channel           notification_channel NOT NULL,
  target            text,                        -- webhook URL or e-mail address at recording time; NULL in-app
  -- What caused it: an alert change matched by a subscription, or an operator message.
  subscription_id   text REFERENCES alert_subscriptions (id),
  alert_id          text,
  alert_revision    bigint,
  device_id         text,
  access_group_id   text,                        -- the device's group at recording time; confines group-limited tokens
  message_id        text REFERENCES operator_messages (id),
  subject           text NOT NULL,
  body              text NOT NULL,
  payload           jsonb NOT NULL,              -- the JSON a webhook receives
  state             notification_state NOT NULL DEFAULT 'queued',
  attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error        text,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  lease_until       timestamptz,                 -- a dispatcher is sending it until then
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  sent_at           timestamptz,
  failed_at         timestamptz,
  read_at           timestamptz,
  FOREIGN KEY (user_id, organisation_id) REFERENCES users (id, organisation_id),
  CHECK ((message_id IS NULL) = (alert_id IS NOT NULL AND alert_revision IS NOT NULL AND subscription_id IS NOT NULL)),
  -- One delivery per alert change and subscription, so re-reading alert.v1 after a restart sends nothing twice.
  UNIQUE (subscription_id, alert_id, alert_revision),
  UNIQUE (message_id, user_id, channel)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE state = 'queued';
CREATE INDEX notification_deliveries_history ON notification_deliveries (organisation_id, created_at DESC, id DESC);
CREATE INDEX notification_deliveries_user ON notification_deliveries (organisation_id, user_id, created_at DESC);

-- Every state change and attempt of a delivery, in order.
CREATE TABLE notification_delivery_events (
  id           bigserial PRIMARY KEY,
  delivery_id  text NOT NULL REFERENCES notification_deliveries (id) ON DELETE CASCADE,
  state        notification_state NOT NULL,
  attempt      integer NOT NULL,
  detail       text,                             -- the failure reason of a failed attempt
  at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_delivery_events_delivery ON notification_delivery_events (delivery_id, id);
