-- Write marks of the seeded tables when the seed completed (perfkit._seed_marks): a reused seed must be untouched.
ALTER TABLE perfkit_seed ADD COLUMN marks jsonb;
