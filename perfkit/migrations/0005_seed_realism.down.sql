ALTER TABLE perfkit_seed DROP COLUMN IF EXISTS realism;
