DROP TABLE IF EXISTS perfkit_seed;
