-- What the seeder loaded: one row, state 'loading' until the load is verified, then 'complete'.
CREATE TABLE perfkit_seed (
    id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    scale double precision NOT NULL,
    seed bigint NOT NULL,
    profile text NOT NULL,
    profile_hash text NOT NULL,
    generator_version integer NOT NULL,
    state text NOT NULL CHECK (state IN ('loading', 'complete')),
    rows jsonb NOT NULL DEFAULT '{}',
    fingerprint text,
    seconds double precision,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
