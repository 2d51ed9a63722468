"""Matplotlib figures per comparison, drawn on the Agg canvas (no pyplot state, no windows)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from perfkit.report._common import DEFAULT_RTTS_MS, INDEXES, LOADING, PAGINATION, has_scenario
from perfkit.report._format import fmt_count, fmt_ms, fmt_pct, fmt_ratio, fmt_slope
from perfkit.report._plot import HEATMAP_CMAP, VERDICT_COLOURS, auto_scale, new_figure, style_of
from perfkit.report.diff import NOT_COMPARABLE, ONE_SAMPLE, comparison_frame
from perfkit.report.frames import (
    index_same_plan,
    index_size_speedup,
    index_speedups,
    loading_frame,
    loading_modelled,
    pagination_batches,
    pagination_frame,
    pagination_slopes,
    write_overhead,
)
from perfkit.results import RunResults


def _lines(
    ax: Axes, df: pd.DataFrame, x: str, y: str, by: str, labels: dict[str, str] | None = None, legend: bool = True
) -> None:
    drawn: list[tuple[str, np.ndarray]] = []
    for i, (key, g) in enumerate(df.groupby(by, sort=False)):
        g = g.sort_values(x)
        colour, marker = style_of(str(key))
        label = (labels or {}).get(str(key), str(key))
        xy = g[[x, y]].to_numpy(float)
        same = next((k for k, v in drawn if v.shape == xy.shape and np.allclose(v, xy, equal_nan=True)), None)
        drawn.append((str(key), xy))
        if same is not None:  # an identical line would hide under the first: dashed, hollow markers, and say so
            label += f" (same as {same})"
        ax.plot(
            g[x],
            g[y],
            marker=marker,
            color=colour,
            label=label,
            lw=1.8 if same is None else 2.4,
            ls=("-", "--", ":", "-.")[i % 4] if same is not None else "-",
            mfc="none" if same is not None else colour,
            ms=9 if same is not None else 6,
            alpha=0.85,
            zorder=3 if same is not None else 2,
        )
        if y == "median_ms" and {"ci_low_ms", "ci_high_ms"} <= set(g.columns):
            ax.fill_between(g[x], g["ci_low_ms"], g["ci_high_ms"], color=colour, alpha=0.18, lw=0)
    ax.grid(True, which="major", alpha=0.35)
    if legend:
        ax.legend(frameon=False, fontsize=8)


def loading_figure(results: RunResults, workload: str) -> Figure:
    """Median time (with 95% CI band) against N, one line per strategy."""
    df = loading_frame(results)
    df = df[(df["workload"] == workload) & df["median_ms"].notna()]
    fig = new_figure(results.environment, (8, 4.6))
    ax = fig.add_subplot()
    _lines(ax, df, "n", "median_ms", "strategy")
    auto_scale(ax, "x", df["n"], "N (parents loaded)")
    auto_scale(ax, "y", df["median_ms"], "median client time (ms)")
    ax.set_title(f"Loading {workload}: time vs N per strategy")
    return fig


def loading_modelled_figure(results: RunResults, workload: str, rtts_ms: Sequence[float] = DEFAULT_RTTS_MS) -> Figure:
    """Modelled time at each added round-trip time: median + round trips × RTT, one panel per RTT."""
    df = loading_modelled(results, rtts_ms)
    df = df[df["workload"] == workload]
    fig = new_figure(results.environment, (10, 4.2))
    axes = fig.subplots(1, len(rtts_ms), sharey=True, squeeze=False)[0]
    for ax, rtt in zip(axes, rtts_ms, strict=True):
        g = df[df["rtt_ms"] == float(rtt)]
        _lines(ax, g, "n", "modelled_ms", "strategy", legend=ax is axes[0])
        auto_scale(ax, "x", g["n"], "N (parents loaded)")
        auto_scale(ax, "y", df["modelled_ms"], "modelled time (ms)" if ax is axes[0] else "")
        ax.set_title(f"+{fmt_ms(rtt)} per round trip", fontsize=10)
    fig.suptitle(f"Loading {workload}: modelled time on a network (measured + round trips × RTT)")
    return fig


def loading_transfer_figure(results: RunResults, workload: str) -> Figure:
    """Rows and bytes transferred against N, one line per strategy: the JOIN's row explosion made visible."""
    df = loading_frame(results)
    df = df[(df["workload"] == workload) & df["bytes"].notna()]
    fig = new_figure(results.environment, (10, 4.2))
    ax_r, ax_b = fig.subplots(1, 2)
    _lines(ax_r, df, "n", "rows", "strategy")
    auto_scale(ax_r, "x", df["n"], "N (parents loaded)")
    auto_scale(ax_r, "y", df["rows"], "rows transferred")
    _lines(ax_b, df, "n", "bytes", "strategy", legend=False)
    auto_scale(ax_b, "x", df["n"], "N (parents loaded)")
    auto_scale(ax_b, "y", df["bytes"], "bytes transferred (field values)")
    fig.suptitle(f"Loading {workload}: what each strategy transferred")
    return fig


def pagination_figure(results: RunResults, query: str) -> Figure:
    """Time and buffers against depth, one line per strategy (and page size), slopes in the legend."""
    df = pagination_frame(results)
    df = df[df["query"] == query]
    slopes = pagination_slopes(results)
    slopes = slopes[slopes["query"] == query]
    several = df["page_size"].nunique() > 1
    df = df.assign(
        series=[f"{s} (page {p:g})" if several else s for s, p in zip(df["strategy"], df["page_size"], strict=True)]
    )
    labels = {
        (f"{s} (page {p:g})" if several else s): f"{s}{f' (page {p:g})' if several else ''}: {fmt_slope(v)}"
        for s, p, v in zip(slopes["strategy"], slopes["page_size"], slopes["slope_ms_per_1k"], strict=True)
    }
    fig = new_figure(results.environment, (10, 4.4))
    ax_t, ax_b = fig.subplots(1, 2)
    _lines(ax_t, df, "depth", "median_ms", "series", labels)
    auto_scale(ax_t, "x", df["depth"], "depth (rows skipped before the page)")
    auto_scale(ax_t, "y", df["median_ms"], "median time (ms)")
    ax_t.set_title("Time per page", fontsize=10)
    b = df[df["buffers"].notna()]
    blabels = {
        (f"{s} (page {p:g})" if several else s): f"{s}{f' (page {p:g})' if several else ''}: {fmt_count(v)} / 1k rows"
        for s, p, v in zip(slopes["strategy"], slopes["page_size"], slopes["slope_buffers_per_1k"], strict=True)
    }
    _lines(ax_b, b, "depth", "buffers", "series", blabels)
    auto_scale(ax_b, "x", b["depth"], "depth (rows skipped before the page)")
    auto_scale(ax_b, "y", b["buffers"], "shared buffers hit + read (8 KiB pages)")
    ax_b.set_title("Buffers touched per page", fontsize=10)
    fig.suptitle(f"Pagination {query}: OFFSET vs keyset as pages get deeper")
    return fig


def pagination_batches_figure(results: RunResults) -> Figure:
    """Whole-table batch passes: total time and peak client memory per strategy, side by side."""
    df = pagination_batches(results)
    fig = new_figure(results.environment, (10, 1.6 + 0.5 * max(1, len(df))))
    ax_t, ax_m = fig.subplots(1, 2, sharey=True)
    labels = df["strategy"].astype(str)
    colours = [style_of(str(s))[0] for s in df["strategy"]]
    for ax, col, scale, unit, title in (
        (ax_t, "median_ms", 1000.0, "s", "total time of one pass (s)"),
        (ax_m, "peak_kib", 1024.0, "MiB", "peak client memory (MiB, tracemalloc)"),
    ):
        values = df[col].astype(float) / scale
        ax.barh(labels, values, color=colours)
        for i, v in enumerate(values):
            ax.annotate(f" {v:,.2f} {unit}", (float(v), i), va="center", fontsize=8)
        ax.set_xlim(0, float(values.max()) * 1.35 if len(values) and values.max() > 0 else 1)
        ax.grid(True, axis="x", alpha=0.35)
        ax.set_xlabel(title)
    ax_t.invert_yaxis()
    ax_t.set_ylabel("strategy")
    size = int(df["batch_size"].iloc[0]) if len(df) else 0
    rows = int(df["rows"].iloc[0]) if len(df) else 0
    fig.suptitle(f"Processing all {rows:,} posts in batches of {size:,}")
    return fig


def index_heatmap(results: RunResults) -> Figure:
    """Speed-up over no index, query × index set, on a log colour scale centred on 1× (blue = faster)."""
    from matplotlib.colors import LogNorm

    wide = index_speedups(results)
    same = index_same_plan(results).reindex(index=wide.index, columns=wide.columns).fillna(False).to_numpy(bool)
    rows, cols = list(wide.index), list(wide.columns)
    fig = new_figure(results.environment, (max(8.0, 4.0 + 1.3 * len(cols)), 2.0 + 0.6 * len(rows)))
    ax = fig.add_subplot()
    data = wide.to_numpy(float)
    finite = data[np.isfinite(data) & (data > 0)]
    span = float(max(np.max(finite), 1 / np.min(finite), 2.0)) if finite.size else 10.0
    norm = LogNorm(vmin=1 / span, vmax=span)
    painted = np.where(same, np.nan, data)
    ax.set_facecolor("#f2f2f2")
    im = ax.imshow(np.ma.masked_invalid(painted), cmap=HEATMAP_CMAP, norm=norm, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = data[i, j]
            if same[i, j] and np.isfinite(v):
                ax.text(j, i, "same plan", ha="center", va="center", fontsize=11, color="#444444")
                continue
            if not np.isfinite(v):
                ax.text(j, i, "not run", ha="center", va="center", fontsize=9, color="#9a9a9a", style="italic")
                continue
            strong = abs(np.log(v)) > 0.6 * np.log(span)
            ax.text(j, i, fmt_ratio(v), ha="center", va="center", fontsize=12, color="white" if strong else "black")
    ax.set_xticks(range(len(cols)), cols, fontsize=11)
    ax.set_yticks(range(len(rows)), [str(r).replace(" (", "\n(", 1) for r in rows], fontsize=10)
    ax.set_xlabel("index set")
    ax.set_ylabel("query")
    ax.set_title("Speed-up over no index (higher is better)")
    bar = fig.colorbar(im, ax=ax, label="speed-up (log scale)")
    ticks = [t for t in (0.01, 0.1, 0.5, 1, 2, 5, 10, 100, 1000, 10000) if 1 / span <= t <= span]
    bar.set_ticks(ticks, labels=[fmt_ratio(t) for t in ticks])
    bar.ax.minorticks_off()
    return fig


def index_size_figure(results: RunResults) -> Figure:
    """What each index set costs in size against the speed-up it buys, per query."""
    df = index_size_speedup(results)
    unit, div = ("MiB", 1024**2) if df["size_bytes"].max() >= 1024**2 else ("KiB", 1024)
    size = df["size_bytes"] / div
    labels = list(dict.fromkeys(df["label"]))
    fig = new_figure(results.environment, (8, 4.6 + 0.2 * len(labels) * (len(labels) > 1)))
    ax = fig.add_subplot()
    for label in labels:
        g = df["label"] == label
        colour, marker = style_of(str(label))
        ax.scatter(size[g], df.loc[g, "speedup"], color=colour, marker=marker, s=50, label=str(label))
        for x, y, name in zip(size[g], df.loc[g, "speedup"], df.loc[g, "index_set"], strict=True):
            ax.annotate(str(name), (x, y), fontsize=8, xytext=(5, 3), textcoords="offset points")
    auto_scale(ax, "x", size, f"total size of the index set ({unit})")
    auto_scale(ax, "y", df["speedup"], "speed-up over no index (×)")
    ax.grid(True, alpha=0.35)
    ax.margins(0.15)
    if len(labels) > 1:
        ax.legend(
            frameon=False,
            fontsize=8,
            title="query",
            title_fontsize=8,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=2,
        )
        ax.set_title("Index size vs speed-up")
    else:
        ax.set_title(f"Index size vs speed-up: {labels[0]}" if labels else "Index size vs speed-up")
    return fig


def write_overhead_figure(results: RunResults) -> Figure:
    """Time to insert the same batch with each index set present."""
    df = write_overhead(results)
    fig = new_figure(results.environment, (8, 1.4 + 0.45 * max(1, len(df))))
    ax = fig.add_subplot()
    colours = [style_of(str(s))[0] for s in df["index_set"]]
    ax.barh(df["index_set"].astype(str), df["insert_ms"], color=colours)
    ax.invert_yaxis()
    rows = int(df["rows"].iloc[0]) if "rows" in df.columns and len(df) else None
    pcts = df["overhead_pct"] if "overhead_pct" in df.columns else pd.Series([float("nan")] * len(df))
    for i, (ms, pct) in enumerate(zip(df["insert_ms"].astype(float), pcts, strict=True)):
        ax.annotate(f" {fmt_ms(ms)} ({fmt_pct(pct)})", (ms, i), va="center", fontsize=8)
    ax.set_xlim(0, float(df["insert_ms"].max()) * 1.3 if len(df) else 1)
    ax.grid(True, axis="x", alpha=0.35)
    ax.set_title(f"Write overhead: inserting {rows:,} posts with each index set" if rows else "Write overhead")
    ax.set_xlabel("insert time (ms)")
    ax.set_ylabel("index set")
    return fig


def comparison_figure(baseline: RunResults, current: RunResults, limit: int = 40, min_pct: float = 0.5) -> Figure:
    """Median change per benchmark in both runs, relative to its scenario's machine drift (what the verdicts judge):
    significant changes first, then the largest others (≥ min_pct)."""
    df = comparison_frame(baseline, current)
    quiet = df["verdict"].isin(["not significant", NOT_COMPARABLE, ONE_SAMPLE])
    df = df[df["drift_change_pct"].notna() & (~quiet | (df["drift_change_pct"].abs() >= min_pct))]
    df = df.assign(
        _s=df["verdict"].isin(["not significant", NOT_COMPARABLE, ONE_SAMPLE]), _a=-df["drift_change_pct"].abs()
    )
    df = df.sort_values(["_s", "_a"], kind="stable").head(limit)
    labels = [f"{r.scenario}/{r.name}/{r.variant} {r.params}".strip() for r in df.itertuples(index=False)]
    fig = new_figure(current.environment, (10, 1.6 + 0.26 * max(1, len(df))))
    ax = fig.add_subplot()
    ax.barh(labels, df["drift_change_pct"], color=[VERDICT_COLOURS.get(v, "#999999") for v in df["verdict"]])
    ax.axvline(0, color="black", lw=0.8)
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(True, axis="x", alpha=0.35)
    for verdict, colour in VERDICT_COLOURS.items():
        ax.bar(0, 0, color=colour, label=verdict)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_title(f"Median change, current vs baseline (the {len(df)} largest changes)")
    ax.set_xlabel("median time change relative to the machine drift of its scenario (%; + is slower)")
    return fig


def figures(results: RunResults) -> dict[str, Figure]:
    """Every figure for the comparisons present in the run, keyed 'scenario/subject/kind'."""
    out: dict[str, Figure] = {}
    if has_scenario(results, LOADING):
        frame = loading_frame(results)
        for workload in dict.fromkeys(frame["workload"]):
            out[f"loading/{workload}/time"] = loading_figure(results, workload)
            if frame.loc[frame["workload"] == workload, "round_trips"].notna().any():
                out[f"loading/{workload}/modelled"] = loading_modelled_figure(results, workload)
            if frame.loc[frame["workload"] == workload, "bytes"].notna().any():
                out[f"loading/{workload}/transfer"] = loading_transfer_figure(results, workload)
    if has_scenario(results, PAGINATION):
        for query in dict.fromkeys(pagination_frame(results)["query"]):
            out[f"pagination/{query}/depth"] = pagination_figure(results, query)
        if not pagination_batches(results).empty:
            out["pagination/posts_batches/time_memory"] = pagination_batches_figure(results)
    if has_scenario(results, INDEXES):
        out["indexes/speedup"] = index_heatmap(results)
        if not index_size_speedup(results).empty:
            out["indexes/size_vs_speedup"] = index_size_figure(results)
        if "insert_ms" in write_overhead(results).columns:
            out["indexes/write_overhead"] = write_overhead_figure(results)
    return out
