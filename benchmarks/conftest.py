"""Benchmarks run against the same kind of session server and fixtures as the tests."""

pytest_plugins = ["tests.fix_server", "tests.fix_seed", "tests.fix_loading"]
