"""pytest configuration: fixtures come from tests/fix_*.py."""

pytest_plugins = ["tests.fix_server", "tests.fix_results"]
