"""Reports of a run: DataFrames per comparison, matplotlib figures and a self-contained HTML page."""

from perfkit.report._common import DEFAULT_RTTS_MS
from perfkit.report._format import environment_line, format_frame
from perfkit.report.diff import comparable, comparison_frame, environment_diff
from perfkit.report.frames import (
    index_frame,
    index_plan_shapes,
    index_size_speedup,
    index_sizes,
    index_speedups,
    loading_frame,
    loading_modelled,
    loading_modelled_table,
    loading_statements,
    pagination_batches,
    pagination_counts,
    pagination_drift,
    pagination_frame,
    pagination_seek,
    pagination_slopes,
    write_overhead,
)
from perfkit.report.html import render_html
from perfkit.report.plots import (
    comparison_figure,
    figures,
    index_heatmap,
    index_size_figure,
    loading_figure,
    loading_modelled_figure,
    pagination_batches_figure,
    pagination_figure,
    write_overhead_figure,
)
from perfkit.report.summary import environment_frame, summary_frame

__all__ = [
    "DEFAULT_RTTS_MS",
    "comparable",
    "comparison_figure",
    "comparison_frame",
    "environment_diff",
    "environment_frame",
    "environment_line",
    "figures",
    "format_frame",
    "index_frame",
    "index_heatmap",
    "index_plan_shapes",
    "index_size_figure",
    "index_size_speedup",
    "index_sizes",
    "index_speedups",
    "loading_figure",
    "loading_frame",
    "loading_modelled",
    "loading_modelled_figure",
    "loading_modelled_table",
    "loading_statements",
    "pagination_batches",
    "pagination_batches_figure",
    "pagination_counts",
    "pagination_drift",
    "pagination_figure",
    "pagination_frame",
    "pagination_seek",
    "pagination_slopes",
    "render_html",
    "summary_frame",
    "write_overhead",
    "write_overhead_figure",
]
