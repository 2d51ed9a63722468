"""Writes the notebooks in this folder from the cell texts below (run it after editing them; outputs stay empty).

python notebooks/_build.py           # rewrite the .ipynb files
python notebooks/_build.py --check   # exit 1 if a committed notebook differs from what this script writes
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
%matplotlib inline
from IPython.display import display

from perfkit import report
from perfkit.report.paths import default_results_path
from perfkit.results import load

RESULTS = default_results_path()  # $PERFKIT_RESULTS, else the newest perfkit-out/*/results.json
results = load(RESULTS)
print(f"results: {RESULTS}")
print(report.environment_line(results.environment))"""

PARAMS_MD = """\
The results file comes from the environment variable `PERFKIT_RESULTS`; without it, the newest
`perfkit-out/*/results.json` in this folder or a parent is used (`perfkit run` writes one)."""

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "00-overview": [
        (
            "md",
            """\
# perfkit: overview of a run

"""
            + PARAMS_MD,
        ),
        ("code", SETUP),
        (
            "md",
            """\
## Where it was measured

Numbers only compare across runs with the same server, settings, scale and seed. The fingerprint identifies
the seeded data.""",
        ),
        (
            "code",
            """\
display(report.environment_frame(results))""",
        ),
        (
            "md",
            """\
## Headlines

One finding per workload or query: the fastest and slowest way to do it, with the statements or plan that
explain the difference.""",
        ),
        (
            "code",
            """\
display(report.summary_frame(results))""",
        ),
        (
            "md",
            """\
## Every figure

The same figures as the HTML report (`perfkit report RESULTS.json -o report.html`). The notebooks `01`–`03`
take each comparison in turn and say what to conclude.""",
        ),
        (
            "code",
            """\
for name, fig in report.figures(results).items():
    print(name)
    display(fig)""",
        ),
        (
            "md",
            """\
## All benchmarks

One row per benchmark: medians with their 95% confidence interval, and the counters recorded with it.""",
        ),
        (
            "code",
            """\
from perfkit.results import benchmarks_frame

benchmarks_frame(results)""",
        ),
    ],
    "01-loading-strategies": [
        (
            "md",
            """\
# Loading strategies: N+1 vs JOIN vs batched vs JSON

A page of N parents is loaded with their children. **N+1** runs one query per parent; **join** runs one query
and repeats parent columns on every row; **batched** runs one query per relation with `= ANY(...)`; **json**
builds the nested result in one statement.

"""
            + PARAMS_MD,
        ),
        ("code", SETUP),
        (
            "code",
            """\
frame = report.loading_frame(results)
if frame.empty:
    print("This run has no loading benchmarks: run `perfkit run --scenario loading`.")
report.format_frame(frame)""",
        ),
        (
            "md",
            """\
## Time against N

Both axes are logarithmic. A line with slope 1 grows in proportion to N. On loopback a round trip costs about
0.1 ms, so N+1 can look harmless at small N; the gap opens as N grows.""",
        ),
        (
            "code",
            """\
for workload in frame["workload"].unique():
    display(report.loading_figure(results, workload))""",
        ),
        (
            "md",
            """\
## Statements executed

The counts are exact and do not depend on timing: N+1 runs one statement for the parents plus one per parent for
each relation it loads (posts_comments_authors also loads each comment's author, so its count is 1 + N + the number
of comments), batched 1 + one per relation, JOIN and JSON one. This is what a regression guard should check.""",
        ),
        (
            "code",
            """\
report.format_frame(report.loading_statements(results))""",
        ),
        (
            "md",
            """\
## On a real network

Every statement pays a network round trip. The model adds *round trips × added round-trip time* to the
measured median, at 0.1, 1 and 20 ms. The added latency is simply round trips × RTT: 201 round trips at 20 ms
(another region) are 4 s of waiting alone, while a strategy with a fixed number of round trips pays that number
× 20 ms whatever N is. The table below has the round trips of each strategy in this run.""",
        ),
        (
            "code",
            """\
for workload in frame["workload"].unique():
    if frame.loc[frame["workload"] == workload, "round_trips"].notna().any():
        display(report.loading_modelled_figure(results, workload))
report.format_frame(report.loading_modelled_table(results))""",
        ),
        (
            "md",
            """\
## The model checked through a proxy

`perfkit run` also runs N+1 and batched loading through a local TCP proxy that delays each direction by half of
1 ms, and compares the proxied median with the model: the median through the same proxy with no delay (`base_ms`;
the extra hop costs something on its own) + round trips × 1 ms. `agrees` is true within 15%; on a busy machine
(`load_avg_1m` above `cpus`) every wake-up is late and the proxied time drifts above the model.""",
        ),
        (
            "code",
            """\
check = report.loading_latency_check(results)
print("no latency check in this run" if check.empty else "")
report.format_frame(check)""",
        ),
        (
            "md",
            """\
## Row explosion

A plain JOIN repeats the parent's columns on every child row, and without a top-N it brings every child back.
`rows_per_logical_row` compares the rows sent with the nodes of the nested result; `bytes_vs_batched` compares
the bytes with batched loading's.""",
        ),
        (
            "code",
            """\
for workload in frame["workload"].unique():
    if frame.loc[frame["workload"] == workload, "bytes"].notna().any():
        display(report.loading_transfer_figure(results, workload))
report.format_frame(report.loading_explosion(results))""",
        ),
        (
            "md",
            """\
## What to conclude

Prefer batched or JSON loading for pages of more than a few parents: their cost does not grow with the number
of round trips. JOIN is fastest when children are few, but transfers the parent columns once per child row
(compare `rows` and `bytes`).""",
        ),
    ],
    "02-pagination": [
        (
            "md",
            "# Pagination: OFFSET vs keyset\n\n"
            "The guide's paginated queries, read at log-spaced depths from the first page to the last: the post feed "
            "ordered by `(created_at DESC, id DESC)`, the most prolific author's published posts, and the admin user "
            "list (`findWithPagination`: optional ILIKE search and role filter, plus a total count). **OFFSET** makes "
            "the server read and discard every row before the page; **keyset** seeks to the last row seen, with the "
            "primary key appended to the sort so that no row is skipped (`perfkit.keyset`).\n\n" + PARAMS_MD,
        ),
        ("code", SETUP),
        (
            "code",
            "frame = report.pagination_frame(results)\n"
            "if frame.empty:\n"
            "    print('This run has no pagination benchmarks: run `perfkit run --scenario pagination`.')\n"
            "report.format_frame(frame)",
        ),
        (
            "md",
            "## Time and buffers against depth\n\nLog axes (depth 0, the first page, sits at the left edge). "
            "OFFSET's time and buffers rise with depth; keyset's stay flat, because each page touches the same "
            "few index and heap pages wherever it starts. Where no index serves the sort (the admin list: there is "
            "no index on `users.created_at`), both strategies scan and sort the whole filtered table on every page.",
        ),
        ("code", "for query in frame['query'].unique():\n    display(report.pagination_figure(results, query))"),
        (
            "md",
            "## Growth per 1,000 rows of depth\n\nA least-squares line through median time, buffers and rows read "
            "against depth. The slope is what one more thousand rows of depth costs per page. The verdict is judged "
            "on buffers, which do not depend on timing: *grows linearly* when the deepest page touches at least 3× "
            "the buffers of the first.",
        ),
        (
            "code",
            "slopes = report.pagination_slopes(results)\n"
            "columns = ['query', 'strategy', 'growth', 'slope_ms_per_1k', 'r2_ms', 'slope_buffers_per_1k',\n"
            "           'slope_rows_read_per_1k', 'first_ms', 'deepest_ms', 'max_depth']\n"
            "report.format_frame(slopes[columns])",
        ),
        (
            "code",
            "summary = report.summary_frame(results)\n"
            "for row in summary[summary['comparison'] == 'pagination'].itertuples():\n"
            "    print(f'{row.subject}: {row.finding}')",
        ),
        (
            "md",
            "## Does the cursor seek?\n\nKeyset pays off only when an index can start at the cursor: the cursor "
            "predicate must appear as an *Index Cond*. When it appears only as a *Filter*, every row before the "
            "cursor is still read and thrown away, and the page is flagged (`perfkit.keyset.check_seek`).",
        ),
        (
            "code",
            "seek = report.pagination_seek(results)\nseek if not seek.empty else print('no seek checks in this run')",
        ),
        (
            "md",
            "## The total count\n\n`findWithPagination` returns a total next to every page. COUNT(*) reads every "
            "matching row whatever the page, so it can cost more than the page itself.",
        ),
        (
            "code",
            "counts = report.pagination_counts(results)\n"
            "report.format_frame(counts) if not counts.empty else print('no COUNT(*) benchmarks in this run')",
        ),
        (
            "md",
            "## Drift under concurrent writes\n\nWhile pages are walked, another connection inserts and deletes "
            "rows (a seeded random churn, on a scratch copy of the newest posts). OFFSET counts positions, so it "
            "serves rows twice or skips them; keyset continues from the last key seen. Rows missed are counted "
            "against a snapshot taken when the walk starts (rows deleted during the walk are not counted as missed).",
        ),
        (
            "code",
            "drift = report.pagination_drift(results)\n"
            "drift if not drift.empty else print('no drift table in this run')",
        ),
        (
            "md",
            "## Processing the whole table in batches\n\nThe guide's `processLargeDataset`: every post, 1,000 at a "
            "time, by keyset, by OFFSET and through a server-side cursor. Total time per pass, and the peak of "
            "Python memory (tracemalloc) while processing: all three hold one batch at a time; OFFSET pays for "
            "re-reading the skipped rows on every batch.",
        ),
        (
            "code",
            "batches = report.pagination_batches(results)\n"
            "if batches.empty:\n"
            "    print('no batch passes in this run')\n"
            "else:\n"
            "    display(report.pagination_batches_figure(results))\n"
            "    display(report.format_frame(batches))",
        ),
        (
            "md",
            "## What to conclude\n\nUse keyset pagination for feeds and anything users page deep into, with an "
            "index that matches the sort (including its tiebreaker) after any equality filters; keep OFFSET for "
            "small, bounded lists. The OFFSET slope tells you how deep a page can go before it breaks your latency "
            "budget; drop or cache the COUNT(*) total when it costs more than the page.",
        ),
    ],
    "03-index-strategies": [
        (
            "md",
            "# Index strategies\n\nThe guide's queries (user by e-mail, posts by author and status, the published "
            "feed, tags, JSONB containment and key tests, substring search, a time range, the analytics "
            "aggregation) measured with each index set: none, single-column, composite in both column orders, "
            "partial, covering (`INCLUDE`), expression (`lower(email)`), GIN `jsonb_ops` and `jsonb_path_ops`, "
            "trigram GIN and BRIN. Each set is built inside a transaction that is rolled back, so the schema "
            "ends as it began. Speed-up is the median time without an index divided by the median time with "
            "the set. `perfkit run` measures a representative subset; `IndexConfig(full=True)` runs the whole "
            "catalogue.\n\n" + PARAMS_MD,
        ),
        ("code", SETUP),
        (
            "code",
            "frame = report.index_frame(results)\n"
            "if frame.empty:\n"
            "    print('This run has no index benchmarks: run `perfkit run --scenario indexes`.')\n"
            "report.format_frame(frame.drop(columns=['label', 'node_types', 'indexes']))",
        ),
        (
            "md",
            "## Speed-up heatmap\n\nBlue cells are faster than no index, red ones slower; the colour scale is "
            "logarithmic, so 10× and 100× are equally far apart. A cell reading 'not run' was not measured; "
            "'same plan' marks a cell whose plan is the no-index plan (the index set was not used), so its timing "
            "difference is noise.",
        ),
        ("code", "if not frame.empty:\n    display(report.index_heatmap(results))"),
        (
            "md",
            "## Plan shape\n\nWhat PostgreSQL did in each cell: the node types and the index used. An "
            "*Index Only Scan* answered from the index alone (the table was VACUUMed first, so the visibility "
            "map lets it skip the heap); a *Seq Scan* under an index set means the planner judged the index "
            "useless for that query, or could not use it at all: a partial index whose `WHERE` the query does "
            "not imply, a `jsonb_path_ops` index under a `?` key test.",
        ),
        ("code", "report.index_plan_shapes(results)"),
        ("code", "report.index_notes(results)"),
        (
            "md",
            "## What indexes cost\n\nSize against speed-up, build time (plain and `CONCURRENTLY`), and the time "
            "to insert a fixed batch of posts with each set present. An index that buys little speed-up but "
            "costs space and write time is a candidate to drop.",
        ),
        (
            "code",
            "if not report.index_size_speedup(results).empty:\n"
            "    display(report.index_size_figure(results))\n"
            "report.index_sizes(results)",
        ),
        (
            "code",
            "overhead = report.write_overhead(results)\n"
            "if 'insert_ms' in overhead.columns:\n"
            "    display(report.write_overhead_figure(results))\n"
            "overhead",
        ),
        (
            "md",
            "## Statistics hygiene\n\nBefore measuring, perfkit checks each table's statistics "
            "(`pg_stat_user_tables`: never analysed, or too many rows changed since) and its visibility map, "
            "and runs ANALYZE or VACUUM where needed.",
        ),
        ("code", "report.index_hygiene(results)"),
        (
            "md",
            "## What to conclude\n\nPick, per query, the smallest index set that reaches most of the best "
            "speed-up, and check the plan shape says it is used. A composite index in the right column order "
            'often serves several queries at once. For your own queries, `perfkit advise "SQL"` proposes '
            "B-tree indexes, estimates them with HypoPG and measures the best one.",
        ),
    ],
    "04-regressions": [
        (
            "md",
            """\
# Regressions: baseline vs current

Two runs compared benchmark by benchmark. The current run comes from `PERFKIT_RESULTS` and the baseline from
`PERFKIT_BASELINE`; without them, the newest and second newest `perfkit-out/*/results.json`.

A timing change counts only when the 95% confidence intervals of the two medians do not overlap; counters
(statements, buffers, rows) are compared exactly, as they do not depend on timing.""",
        ),
        (
            "code",
            """\
%matplotlib inline
from IPython.display import display

from perfkit import report
from perfkit.report.paths import BASELINE_ENV, default_results_path
from perfkit.results import load

CURRENT = default_results_path()
BASELINE = default_results_path(BASELINE_ENV, nth=1)
current, baseline = load(CURRENT), load(BASELINE)
print(f"baseline: {BASELINE}")
print(f"current:  {CURRENT}")""",
        ),
        (
            "md",
            """\
## Are the runs comparable?

Different server versions, settings, scale, seed or data make timing differences meaningless; rows that differ
are listed here.""",
        ),
        (
            "code",
            """\
env = report.environment_diff(baseline, current)
different = report.comparable(baseline, current)
print("comparable" if not different else f"NOT comparable: {', '.join(different)} differ")
env[env["differs"]]""",
        ),
        (
            "md",
            """\
## Median change per benchmark

Significant changes first (vermillion slower, blue faster), then the largest of the rest in grey.""",
        ),
        (
            "code",
            """\
cmp = report.comparison_frame(baseline, current)
cmp["verdict"].value_counts()""",
        ),
        (
            "code",
            """\
if cmp["change_pct"].notna().any():
    display(report.comparison_figure(baseline, current))""",
        ),
        (
            "md",
            """\
## What changed

Regressions and improvements, benchmarks only in one run, and counters that changed (a changed statement count
is a regression in itself, whatever the timing says).""",
        ),
        (
            "code",
            """\
quiet = cmp["verdict"].isin(["not significant", "not comparable", "n/a (1 sample)"])
changed = cmp[~quiet | (cmp["counters_changed"] != "")]
report.format_frame(changed)""",
        ),
        (
            "md",
            """\
## What to conclude

A slower verdict with unchanged counters points at the environment or the data; a changed statement count or
plan points at the code. `version changed` marks benchmarks whose SQL or parameters changed, so their baseline
is stale.""",
        ),
    ],
}


def build(name: str) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, text) in enumerate(NOTEBOOKS[name]):
        cell = new_markdown_cell(text) if kind == "md" else new_code_cell(text)
        cell["id"] = f"{name}-{i:02d}"  # stable ids: rebuilding gives byte-identical files
        nb.cells.append(cell)
    return nb


def main(argv: list[str]) -> int:
    stale = []
    for name in NOTEBOOKS:
        path = HERE / f"{name}.ipynb"
        text = nbformat.writes(build(name)) + "\n"
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("out of date (run python notebooks/_build.py):", ", ".join(stale))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
