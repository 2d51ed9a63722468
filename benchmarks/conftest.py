"""Benchmarks run against the same session server as the tests."""

pytest_plugins = ["tests.fix_server"]
