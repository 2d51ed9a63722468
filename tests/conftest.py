"""pytest configuration: fixtures come from tests/fix_*.py (perfkit's own plugin loads via its pytest11 entry point)."""

pytest_plugins = [
    "pytester",
    "tests.fix_server",
    "tests.fix_seed",
    "tests.fix_run",
    "tests.fix_pagination",
    "tests.fix_results",
    "tests.fix_loading",
    "tests.fix_indexes",
    "tests.fix_gates",
    "tests.fix_bench",
]
