"""Threshold specs: `metric:limit` strings into check objects, one-line errors, pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfkit.compare import (
    DEFAULT_SPECS,
    CounterCheck,
    Limit,
    PlanCheck,
    TimeCheck,
    parse_check,
    resolve_checks,
)
from perfkit.errors import ConfigError, ThresholdError


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("time:median:+20%", TimeCheck("median", Limit(0.2, relative=True))),
        ("time:mean:+10%", TimeCheck("mean", Limit(0.1, relative=True))),
        ("time:median:+2.5ms", TimeCheck("median", Limit(2.5, relative=False))),
        ("buffers:+10%", CounterCheck("buffers", ("shared_hit_blocks", "shared_read_blocks"), Limit(0.1, True))),
        ("statements:+0", CounterCheck("statements", ("statements",), Limit(0.0, relative=False))),
        ("rows_removed:+5%", CounterCheck("rows_removed", ("rows_removed",), Limit(0.05, relative=True))),
        ("counter:bytes:+1000", CounterCheck("bytes", ("bytes",), Limit(1000.0, False), alias=False)),
        ("counter:rows_read:+3%", CounterCheck("rows_read", ("rows_read",), Limit(0.03, True), alias=False)),
        ("plan:changed", PlanCheck()),
        (" Time:Median:20% ", TimeCheck("median", Limit(0.2, relative=True))),
    ],
)
def test_parse(spec: str, expected: object) -> None:
    assert parse_check(spec) == expected


ROUND_TRIP = [
    "time:median:+20%",
    "buffers:+10%",
    "statements:+0",
    "counter:bytes:+1000",
    "plan:changed",
    "time:mean:+2ms",
]


@pytest.mark.parametrize("spec", ROUND_TRIP)
def test_spec_round_trips(spec: str) -> None:
    assert parse_check(spec).spec == spec


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "time",
        "time:p99:+20%",
        "time:median",
        "time:median:+20",  # a time limit needs a unit
        "time:median:twenty",
        "time:median:-5%",
        "buffers",
        "buffers:+10ms",
        "buffers:10%:extra",
        "statements:+x",
        "counter::+1",
        "counter:bytes",
        "plan:same",
        "latency:+10%",
        "counter:server_ms:+10%",  # timings are never equal twice: no exact check fits them
        "counter:execution_ms:+0",
    ],
)
def test_bad_specs_raise_one_line(spec: str) -> None:
    with pytest.raises(ThresholdError) as exc:
        parse_check(spec)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith("bad threshold")
    assert isinstance(exc.value, ConfigError)


def test_limit_boundaries() -> None:
    ten = Limit(0.1, relative=True)
    assert not ten.exceeded(100, 110)  # exactly +10% is within
    assert ten.exceeded(100, 111)
    assert not ten.exceeded(0, 0)
    assert ten.exceeded(0, 1)  # anything from zero is an infinite increase
    zero = Limit(0.0, relative=False)
    assert not zero.exceeded(5, 5)
    assert zero.exceeded(5, 6)
    assert not zero.exceeded(5, 4)


def test_pyproject_checks(tmp_path: Path) -> None:
    pp = tmp_path / "pyproject.toml"
    pp.write_text('[project]\nname = "x"\n\n[tool.perfkit]\nfail = ["statements:+0", "plan:changed"]\n')
    assert resolve_checks(pyproject=pp) == (parse_check("statements:+0"), PlanCheck())
    # explicit specs win over the file
    assert resolve_checks(["buffers:+1%"], pyproject=pp) == (parse_check("buffers:+1%"),)


def test_counter_timing_names_the_time_check() -> None:
    with pytest.raises(ThresholdError, match="'server_ms' is a timing, never equal twice: gate time with time:median"):
        parse_check("counter:server_ms:+50%")


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    assert resolve_checks(pyproject=tmp_path / "absent.toml") == tuple(parse_check(s) for s in DEFAULT_SPECS)
    (tmp_path / "pyproject.toml").write_text("[tool.other]\nx = 1\n")
    assert len(resolve_checks(pyproject=tmp_path / "pyproject.toml")) == len(DEFAULT_SPECS)
    (tmp_path / "pyproject.toml").write_text("[tool.perfkit]\n")  # an empty table: no key misspelt, none set
    assert len(resolve_checks(pyproject=tmp_path / "pyproject.toml")) == len(DEFAULT_SPECS)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[tool.perfkit]\nfail = ["time:median:lots"]\n', "bad threshold 'time:median:lots'"),
        ('[tool.perfkit]\nfail = "statements:+0"\n', "must be a list of strings"),
        ("[tool.perfkit\nfail = 1\n", "not valid TOML"),
        # a misspelt key used to be ignored, and the defaults gated instead of the list
        ('[tool.perfkit]\nfails = ["statements:+0"]\n', "unknown key 'fails' in [tool.perfkit] (known keys: fail)"),
        ('[tool.perfkit]\nfail = ["plan:changed"]\nFail = []\nthreshold = 1\n', "unknown keys 'Fail', 'threshold' in"),
        # an empty list used to gate nothing and pass
        ("[tool.perfkit]\nfail = []\n", "[tool.perfkit] fail is empty, so nothing would be gated"),
        ('[tool]\nperfkit = "statements:+0"\n', "tool.perfkit must be a table"),
    ],
)
def test_bad_pyproject(tmp_path: Path, text: str, fragment: str) -> None:
    pp = tmp_path / "pyproject.toml"
    pp.write_text(text)
    with pytest.raises(ConfigError, match=r"pyproject\.toml") as exc:
        resolve_checks(pyproject=pp)
    assert fragment in str(exc.value)
    assert "\n" not in str(exc.value)
