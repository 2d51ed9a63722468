-- The seed's realism report (perfkit.realism), measured once after a complete seed and copied into each run's results.
ALTER TABLE perfkit_seed ADD COLUMN realism jsonb;
