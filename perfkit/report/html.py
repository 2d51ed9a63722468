"""The standalone HTML report: one self-contained file (inline CSS, PNGs as data URIs, no scripts, no links out)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from perfkit._atomic import write_text
from perfkit.report import _html as h
from perfkit.report import frames as fr
from perfkit.report import plots as fg
from perfkit.report._common import INDEXES, LOADING, PAGINATION, has_scenario
from perfkit.report.diff import (
    NOT_COMPARABLE,
    ONE_SAMPLE,
    comparable,
    comparison_frame,
    drift_notes,
    environment_diff,
)
from perfkit.report.summary import environment_frame, summary_frame
from perfkit.results import RunResults, benchmarks_frame

SECTIONS = {LOADING: "Loading strategies", PAGINATION: "Pagination", INDEXES: "Index strategies"}

INTRO = {
    LOADING: (
        "The same page of parents and their children loaded several ways (N+1, JOIN, batched, JSON, and for top-N: "
        "window and LATERAL). N+1 runs one statement per parent, so its "
        "time grows with N and with every millisecond of network latency; the other strategies run a fixed "
        "number of statements. The modelled panels add the given round-trip time to every statement."
    ),
    PAGINATION: (
        "OFFSET reads and discards every row before the page, so time and buffers grow with depth; keyset seeks to "
        "the last row seen and stays flat, as long as an index serves the sort order (the seek check says when it "
        "does not). The slope is a least-squares fit of median time (and buffers) against depth, per 1,000 rows of "
        "depth. Below: the COUNT(*) totals, the drift of each strategy under concurrent writes and whole-table "
        "batch passes."
    ),
    INDEXES: (
        "Each query measured with each index set in place. Cells show how many times faster the query ran than "
        "with no index; the plan table shows which nodes and indexes PostgreSQL chose for each cell."
    ),
}


def _guard(draw: Callable[[], str], what: str) -> str:
    """Draw a part of the report; a part that cannot be drawn from odd data becomes a note, not a crash."""
    try:
        return draw()
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        return h.note(f"{what} could not be drawn: {type(exc).__name__}: {exc}", "warn")


def _figure(fig_fn: Callable[[], Figure], alt: str) -> str:
    return _guard(lambda: h.image(fig_fn(), alt), alt)


def _empty_pages(r: RunResults) -> list[str]:
    """A warning per workload and relation that some measured page loaded none of."""
    empty = fr.loading_empty(r)
    return [
        h.note(
            f"{workload} loaded no {relation} at N = {', '.join(f'{int(n):,}' for n in sorted(g['n']))}: "
            f"its strategies were not compared on {relation} there.",
            "warn",
        )
        for (workload, relation), g in empty.groupby(["workload", "relation"], sort=False)
    ]


def _loading(r: RunResults) -> str:
    parts = _empty_pages(r)
    frame = fr.loading_frame(r)
    for workload in dict.fromkeys(frame["workload"]):
        parts.append(f"<h4>{h.esc(workload)}</h4>")
        parts.append(_figure(partial(fg.loading_figure, r, workload), f"{workload}: time vs N"))
        if frame.loc[frame["workload"] == workload, "round_trips"].notna().any():
            parts.append(_figure(partial(fg.loading_modelled_figure, r, workload), f"{workload}: modelled time"))
        if frame.loc[frame["workload"] == workload, "bytes"].notna().any():
            parts.append(_figure(partial(fg.loading_transfer_figure, r, workload), f"{workload}: rows and bytes"))
    parts.append("<h4>Statements executed</h4>")
    parts.append(_guard(lambda: h.table(fr.loading_statements(r)), "statements table"))
    modelled = fr.loading_modelled_table(r)
    if not modelled.empty:
        parts.append("<h4>Modelled time at added round-trip times</h4>")
        parts.append(h.para("measured median + round trips × added round-trip time", "muted"))
        parts.append(_guard(lambda: h.table(modelled), "modelled table"))
    check = fr.loading_latency_check(r)
    if not check.empty:
        parts.append("<h4>The latency model checked through a delaying proxy</h4>")
        parts.append(
            h.para("proxied median vs direct median + round trips × RTT; agrees within the tolerance", "muted")
        )
        parts.append(_guard(lambda: h.table(check), "latency check table"))
    explosion = fr.loading_explosion(r)
    if explosion["logical_rows"].notna().any():
        parts.append("<h4>Row explosion: transferred vs the logical result</h4>")
        parts.append(h.para("rows per node of the nested result, and bytes relative to batched loading", "muted"))
        parts.append(_guard(lambda: h.table(explosion), "row explosion table"))
    parts.append(h.details("All loading measurements", _guard(lambda: h.table(frame), "loading table")))
    return "".join(parts)


def _pagination(r: RunResults) -> str:
    parts = []
    frame = fr.pagination_frame(r)
    for query in dict.fromkeys(frame["query"]):
        parts.append(f"<h4>{h.esc(query)}</h4>")
        parts.append(_figure(partial(fg.pagination_figure, r, query), f"{query}: time and buffers vs depth"))
    parts.append("<h4>Growth with depth (least-squares slope per 1,000 rows of depth)</h4>")
    slopes = fr.pagination_slopes(r)
    verdict = "'grows linearly': the deepest page touches 3× the buffers of the first one or more (buffers do not "
    parts.append(h.para(verdict + "depend on timing); 'stays flat' otherwise", "muted"))
    cols = ["query", "strategy", "growth", "slope_ms_per_1k", "r2_ms", "slope_buffers_per_1k", "slope_rows_read_per_1k"]
    cols += ["first_ms", "deepest_ms", "max_depth"]
    parts.append(_guard(lambda: h.table(slopes[cols]), "slopes table"))
    seek = fr.pagination_seek(r)
    if not seek.empty and "seek" in seek.columns:
        parts.append("<h4>Does the keyset cursor seek?</h4>")
        for row in seek[~seek["seek"].astype(bool)].to_dict("records"):
            text = f"{row['query']}: the keyset cursor predicate is not an index seek at depth {row['depth']:,}"
            parts.append(h.note(f"{text} ({row['node_type']}): {row['reason']}.", "warn"))
        shown = [c for c in ("query", "depth", "seek", "node_type", "index", "reason", "filter") if c in seek.columns]
        parts.append(_guard(lambda: h.table(seek[shown]), "seek table"))
    counts = fr.pagination_counts(r)
    if not counts.empty:
        parts.append("<h4>The COUNT(*) total on its own</h4>")
        parts.append(h.para("a page-numbered UI runs it next to every page; compare with the first page", "muted"))
        parts.append(_guard(lambda: h.table(counts), "count table"))
    drift = fr.pagination_drift(r)
    if not drift.empty:
        parts.append("<h4>Drift under concurrent writes</h4>")
        how = "each strategy walks a scratch copy while another connection inserts and deletes rows between pages; "
        parts.append(
            h.para(how + "duplicates and rows missed are counted against a snapshot taken at the start", "muted")
        )
        parts.append(h.table(drift))
    batches = fr.pagination_batches(r)
    if not batches.empty:
        parts.append("<h4>Processing the whole table in batches</h4>")
        parts.append(_figure(lambda: fg.pagination_batches_figure(r), "batch passes: time and memory"))
        parts.append(_guard(lambda: h.table(batches), "batch table"))
    parts.append(h.details("All pagination measurements", _guard(lambda: h.table(frame), "pagination table")))
    return "".join(parts)


def _indexes(r: RunResults) -> str:
    parts = [_figure(lambda: fg.index_heatmap(r), "speed-up heatmap")]
    parts.append("<h4>Plan shape per query and index set</h4>")
    parts.append(_guard(lambda: h.pivot_table(fr.index_plan_shapes(r), "query"), "plan shapes"))
    if not fr.index_size_speedup(r).empty:
        parts.append("<h4>Index size vs speed-up</h4>")
        parts.append(_figure(lambda: fg.index_size_figure(r), "index size vs speed-up"))
    sizes = fr.index_sizes(r)
    if not sizes.empty:
        parts.append("<h4>Index sizes and build times</h4>")
        parts.append(h.table(sizes))
    overhead = fr.write_overhead(r)
    if "insert_ms" in overhead.columns:
        parts.append("<h4>Write overhead</h4>")
        parts.append(_figure(lambda: fg.write_overhead_figure(r), "write overhead"))
        parts.append(h.table(overhead))
    notes = fr.index_notes(r)
    if not notes.empty:
        parts.append("<h4>What the plans show</h4>")
        parts.append(h.para("indexes a plan did not use, and JSONB predicates no index could serve", "muted"))
        parts.append(h.table(notes))
    hygiene = fr.index_hygiene(r)
    if not hygiene.empty:
        parts.append(h.details("Statistics and visibility map before measuring", h.table(hygiene)))
    cols = ["label", "index_set", "median_ms", "ci_low_ms", "ci_high_ms", "speedup", "plan_shape", "index_only"]
    cols += ["shared_hit_blocks", "shared_read_blocks", "rows_removed"]
    parts.append(h.details("All index measurements", _guard(lambda: h.table(fr.index_frame(r)[cols]), "index table")))
    return "".join(parts)


_RENDER: dict[str, Callable[[RunResults], str]] = {LOADING: _loading, PAGINATION: _pagination, INDEXES: _indexes}


def _run_labels(runs: Sequence[RunResults], labels: Sequence[str] | None) -> list[str]:
    if labels is not None and len(labels) == len(runs):
        return list(labels)
    names = ["baseline", "current"] if len(runs) == 2 else [f"run {i + 1}" for i in range(len(runs))]
    return [f"{n} ({r.environment.started_at[:16].replace('T', ' ')})" for n, r in zip(names, runs, strict=True)]


def _environment(runs: Sequence[RunResults], labels: list[str]) -> str:
    if len(runs) == 1:
        return h.table(environment_frame(runs[0]))
    parts = []
    for i in range(1, len(runs)):
        diff = environment_diff(runs[0], runs[i])
        differs = ["differs" if d else "" for d in diff["differs"]]
        shown = diff.drop(columns="differs").rename(columns={"baseline": labels[0], "current": labels[i]})
        parts.append(h.table(shown, row_classes=differs))
        bad = comparable(runs[0], runs[i])
        if bad:
            text = f"{labels[i]} was measured in a different environment ({', '.join(bad)}): differences may not be"
            parts.append(h.note(text + " caused by the code alone.", "warn"))
    return "".join(parts)


def _differences(base: RunResults, cur: RunResults) -> str:
    df = comparison_frame(base, cur)
    n = len(df)
    counts = df["verdict"].value_counts()
    kinds = ("slower", "faster", "not significant", NOT_COMPARABLE, ONE_SAMPLE, "new", "removed")
    optional = (ONE_SAMPLE, NOT_COMPARABLE)
    text = ", ".join(f"{counts.get(v, 0)} {v}" for v in kinds if counts.get(v, 0) or v not in optional)
    parts = [
        h.para(
            f"{n} benchmarks: {text}. A change counts only as `perfkit compare` counts it: the Mann-Whitney test "
            "(p < 0.05) and disjoint 95% confidence intervals of the medians, relative to the machine drift of each "
            "scenario; counters (statements, buffers, rows) are compared exactly."
        )
    ]
    parts += [h.note(note[0].upper() + note[1:] + ".", "warn") for note in drift_notes(base, cur)]
    if counts.get(NOT_COMPARABLE, 0):
        parts.append(
            h.note(
                f"The runs were timed with different protocols ({base.environment.timing_protocol}; "
                f"{cur.environment.timing_protocol}): their timings are not like for like.",
                "warn",
            )
        )
    moved = df["drift_change_pct"].abs() >= 0.5
    if ((~df["verdict"].isin(["not significant", NOT_COMPARABLE])) | moved).any():
        parts.append(_figure(lambda: fg.comparison_figure(base, cur), "median change per benchmark"))
    order = {"slower": 0, "faster": 1, "new": 2, "removed": 3, "not significant": 4, NOT_COMPARABLE: 5, ONE_SAMPLE: 6}
    df = df.assign(_o=df["verdict"].map(order), _c=(df["counters_changed"] == ""), _a=-df["drift_change_pct"].abs())
    df = df.sort_values(["_o", "_c", "_a"], kind="stable").drop(columns=["_o", "_c", "_a"])
    quiet = (
        df["verdict"].isin(["not significant", NOT_COMPARABLE, ONE_SAMPLE])
        & (df["counters_changed"] == "")
        & ~df["version_changed"]
    )
    parts.append(h.table(df[~quiet], cell_class_column="verdict"))
    if quiet.any():
        body = h.table(df[quiet], cell_class_column="verdict")
        parts.append(h.details(f"{int(quiet.sum())} benchmarks without a significant change or changed counter", body))
    return "".join(parts)


def _all_benchmarks(r: RunResults) -> str:
    df = benchmarks_frame(r)
    if df.empty:
        return h.note("no benchmarks")
    keep = [c for c in df.columns if c not in ("key", "n", "mean_ms", "stdev_ms", "min_ms", "max_ms", "q1_ms", "q3_ms")]
    return h.table(df[keep].rename(columns={"n": "samples"}))


def render_html(runs: Sequence[RunResults], path: str | os.PathLike[str], labels: Sequence[str] | None = None) -> Path:
    """Write the standalone report for one run, or for several side by side (the first is the baseline)."""
    if not runs:
        raise ValueError("render_html needs at least one run")
    target = Path(path)
    text = h.page("perfkit report", _body(list(runs), _run_labels(runs, labels)))
    return write_text(target, text)


def _body(runs: list[RunResults], labels: list[str]) -> str:
    present = [s for s in SECTIONS if any(has_scenario(r, s) for r in runs)]
    toc = [("environment", "Environment"), ("summary", "Summary")]
    toc += [("differences", "Differences")] if len(runs) > 1 else []
    toc += [(s, SECTIONS[s]) for s in present] + [("all", "All benchmarks")]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    env = runs[-1].environment
    sub = f"PostgreSQL {env.server_version} · scale {env.scale} · seed {env.seed} · generated {now}"
    out = ["<h1>perfkit report</h1>", h.para(sub, "muted")]
    if len(runs) > 1:
        out.append(h.para("Runs compared: " + "; ".join(labels) + ". The first is the baseline.", "muted"))
    out.append("<nav>" + "".join(f'<a href="#{a}">{h.esc(t)}</a>' for a, t in toc) + "</nav>")
    out.append('<h2 id="environment">Environment</h2>' + _environment(runs, labels))
    out.append('<h2 id="summary">Summary</h2>')
    out.append(h.runs_grid([(lbl, _summary(r)) for lbl, r in zip(labels, runs, strict=True)]))
    for i in range(1, len(runs)):
        title = "Differences" if len(runs) == 2 else f"Differences: {labels[i]} vs {labels[0]}"
        anchor = ' id="differences"' if i == 1 else ""
        out.append(f"<h2{anchor}>{h.esc(title)}</h2>" + _guard(partial(_differences, runs[0], runs[i]), title))
    missing = [SECTIONS[s] for s in SECTIONS if s not in present]
    for s in present:
        out.append(f'<h2 id="{s}">{h.esc(SECTIONS[s])}</h2>' + h.para(INTRO[s]))
        out.append(_shared_section(s, runs, labels))
    if missing:
        out.append(h.note(f"Not in {'these runs' if len(runs) > 1 else 'this run'}: {', '.join(missing)}."))
    out.append('<h2 id="all">All benchmarks</h2>')
    out.append(
        h.runs_grid(
            [(lbl, h.details("Show the table", _all_benchmarks(r))) for lbl, r in zip(labels, runs, strict=True)]
        )
    )
    out.append(
        f"<footer>perfkit {h.esc(env.perfkit_version)} · a self-contained page: no scripts, no external resources."
        "</footer>"
    )
    return "".join(out)


def _shared_section(scenario: str, runs: list[RunResults], labels: list[str]) -> str:
    """One section for every run side by side; figures of the same kind share their y limits across runs."""
    if len(runs) == 1:
        return _render(scenario, runs[0])
    h.pending = []
    try:
        grid = h.runs_grid([(lbl, _render(scenario, r)) for lbl, r in zip(labels, runs, strict=True)])
        figs = h.pending
    finally:
        h.pending = None
    return h.share_y(grid, figs)


def _render(scenario: str, r: RunResults) -> str:
    if not has_scenario(r, scenario):
        return h.note(f"{SECTIONS[scenario]}: not measured in this run.")
    return _guard(lambda: _RENDER[scenario](r), SECTIONS[scenario])


def _summary(r: RunResults) -> str:
    df: pd.DataFrame = summary_frame(r)
    if df.empty:
        return h.note("This run holds no benchmarks of a known comparison.")
    return h.table(df)
