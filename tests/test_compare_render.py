"""Rendering a Comparison: terminal table, GitHub Markdown (a valid table), JSON."""

from __future__ import annotations

import json

from rich.console import Console

from perfkit.compare import Comparison, compare, parse_checks
from perfkit.compare_render import comparison_table, to_json, to_markdown
from tests._runs import bench, env, plan, run, samples

CHECKS = parse_checks(["time:median:+20%", "statements:+0", "buffers:+10%", "plan:changed"])


def mixed() -> Comparison:
    """One regression per kind, one noisy non-significant change, one unchanged benchmark, a pipe in a param."""
    before = plan(["Limit", "Index Scan"], ["idx_posts_author_status"])
    after = plan(["Limit", "Sort", "Seq Scan"], [], seq_scans=["posts"])
    base = run(
        bench(variant="composite", times=samples(10, seed=1), counters={"statements": 1}, plan=before),
        bench(variant="noisy", times=samples(10, n=10, noise=0.5, seed=7)),
        bench(variant="same", params={"q": "a|b"}, counters={"shared_hit_blocks": 10, "shared_read_blocks": 0}),
        bench(variant="gone"),
    )
    cur = run(
        bench(variant="composite", times=samples(14, seed=2), counters={"statements": 2}, plan=after),
        bench(variant="noisy", times=samples(14, n=10, noise=0.5, seed=107)),
        bench(variant="same", params={"q": "a|b"}, counters={"shared_hit_blocks": 10, "shared_read_blocks": 0}),
        environment=env(seed=43),
    )
    return compare(base, cur, CHECKS, allow_env_mismatch=True)


def table_rows(md: str) -> list[list[str]]:
    """Cells of the Markdown table, splitting on unescaped pipes."""
    rows = []
    for line in md.splitlines():
        if line.startswith("|"):
            cells = line.replace("\\|", "\0").strip().strip("|").split("|")
            rows.append([c.strip().replace("\0", "|") for c in cells])
    return rows


def test_markdown_is_a_valid_table() -> None:
    md = to_markdown(mixed())
    rows = table_rows(md)
    header, sep, body = rows[0], rows[1], rows[2:]
    assert header == ["benchmark", "metric", "baseline", "current", "change", "verdict"]
    assert all(set(c) <= set(":-") and "-" in c for c in sep)
    assert all(len(r) == len(header) for r in body)
    # The table is one block: header, separator, then body lines with nothing in between.
    lines = md.splitlines()
    start = lines.index("| benchmark | metric | baseline | current | change | verdict |")
    assert all(ln.startswith("|") for ln in lines[start : start + len(rows)])
    by = {(r[0], r[1]): r for r in body}
    composite = "`indexes/posts_by_author_status/composite[]`"
    assert by[(composite, "time:median")][5] == "**regression**"
    assert by[(composite, "statements")][2:] == ["1", "2", "+1", "**regression**"]
    assert by[(composite, "plan")][5] == "**plan changed**"
    assert by[("`indexes/posts_by_author_status/noisy[]`", "time:median")][5] == "not significant"
    assert ("`indexes/posts_by_author_status/same[q=a|b]`", "buffers") not in by  # ok rows are counted, not listed
    ok = sum(r.verdict == "ok" for b in mixed().benchmarks for r in b.results)
    assert ok and f"{ok} check(s) ok (`--format table` or `json` lists them)." in md


def test_markdown_shows_both_plans_warnings_and_left_out() -> None:
    md = to_markdown(mixed())
    assert "> **Warning:** ENVIRONMENTS DIFFER" in md
    assert "seed: 42 -> 43" in md
    assert ":x:" in md
    assert "### Changed plans" in md
    assert "baseline: Limit > Index Scan; indexes: idx_posts_author_status" in md
    assert "current: Limit > Sort > Seq Scan; indexes: none; seq scans on posts" in md
    assert "only in the baseline: indexes/posts_by_author_status/gone[]" in md


def test_terminal_table() -> None:
    console = Console(record=True, width=260)
    console.print(comparison_table(mixed()))
    text = console.export_text()
    assert "not significant" in text
    assert "ENVIRONMENTS DIFFER" in text
    assert "same[q=a|b]" in text  # brackets survive (no markup interpretation)
    assert "plan changed: indexes/posts_by_author_status/composite[]" in text
    assert "baseline: Limit > Index Scan; indexes: idx_posts_author_status" in text
    assert "current:  Limit > Sort > Seq Scan; indexes: none; seq scans on posts" in text
    assert "3 regression(s) in 1 of 3 benchmark(s)" in text


def test_json() -> None:
    doc = json.loads(to_json(mixed()))
    assert doc["failed"] is True
    assert doc["checks"] == ["time:median:+20%", "statements:+0", "buffers:+10%", "plan:changed"]
    by = {b["variant"]: b for b in doc["benchmarks"]}
    assert by["composite"]["failed"] is True
    assert by["noisy"]["failed"] is False
    plan_r = next(r for r in by["composite"]["results"] if r["metric"] == "plan")
    assert plan_r["baseline_plan"]["indexes"] == ["idx_posts_author_status"]
    assert plan_r["current_plan"]["node_types"] == ["Limit", "Sort", "Seq Scan"]
    assert doc["environment_differences"] == ["seed: 42 -> 43"]
