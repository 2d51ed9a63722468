"""pytest configuration: fixtures come from tests/fix_*.py."""

pytest_plugins = ["pytester", "tests.fix_server", "perfkit.pytest_plugin"]
