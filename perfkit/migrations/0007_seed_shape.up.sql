-- The seeded tables' shape (columns, constraints, indexes, triggers) when the seed completed (perfkit._seed_shape):
-- a reused seed must have the schema it was measured with.
ALTER TABLE perfkit_seed ADD COLUMN shape jsonb;
