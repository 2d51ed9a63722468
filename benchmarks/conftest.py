"""Benchmarks run against the same kind of session server and fixtures as the tests (bench_db: PERFKIT_BENCH_SCALE)."""

pytest_plugins = ["tests.fix_server", "tests.fix_seed", "tests.fix_loading", "tests.fix_bench"]
