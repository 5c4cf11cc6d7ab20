-- Replay (streams/replay): the runs of the replay command, and the live Elasticsearch index
-- generation of each index type, which `replay switch` records and the index worker reads at start.
-- Written with IF NOT EXISTS so an integration test may ensure the tables before `make up` migrated.

CREATE TABLE IF NOT EXISTS replay_runs (
  run_id        text PRIMARY KEY CHECK (run_id ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
  -- Catalogue prefix of the replay's topics, consumer groups, changelogs, transactional ids and
  -- Redis keys, e.g. `replay-20260412-1.`; the live names are this without the prefix.
  topic_prefix  text NOT NULL,
  -- Prefix of the live indices and read aliases (INDEX_PREFIX) the replay builds a generation of.
  index_prefix  text NOT NULL,
  -- The live topics read, and per topic and partition the offset range [from, to): the plan, fixed
  -- when the run is created, so a resumed run replays exactly the same records.
  sources       text[] NOT NULL,
  ranges        jsonb NOT NULL,
  index_types   text[] NOT NULL,
  generation    integer NOT NULL CHECK (generation >= 2),
  state         text NOT NULL CHECK (state IN ('planned', 'running', 'built', 'switched', 'discarded')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS index_generations (
  index_prefix         text NOT NULL,
  index_type           text NOT NULL,
  generation           integer NOT NULL CHECK (generation >= 1),
  previous_generation  integer CHECK (previous_generation >= 1),
  run_id               text,            -- the replay that built it; NULL when set by hand
  switched_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (index_prefix, index_type)
);
