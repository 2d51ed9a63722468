"""Plot plumbing: colour-blind-safe styles, automatic log scales, environment footers, PNG rendering."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import NullLocator

from perfkit.report._format import environment_line
from perfkit.results import Environment

# Okabe & Ito's palette, distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
# Fixed styles, so a strategy has the same colour in every figure; the slow/naive ones are vermillion.
_FIXED = {
    "n_plus_one": ("#D55E00", "o"),
    "join": ("#0072B2", "s"),
    "batched": ("#009E73", "^"),
    "json": ("#E69F00", "D"),
    "window": ("#CC79A7", "v"),
    "lateral": ("#56B4E9", "P"),
    "offset": ("#D55E00", "o"),
    "keyset": ("#0072B2", "s"),
    "server_cursor": ("#009E73", "^"),
    "none": ("#7F7F7F", "X"),
}
_assigned: dict[str, tuple[str, str]] = {}
_cycle = itertools.cycle(zip(OKABE_ITO, MARKERS, strict=True))
HEATMAP_CMAP = "RdBu"  # diverging, colour-blind safe (ColorBrewer); blue = faster than no index
VERDICT_COLOURS = {"slower": "#D55E00", "faster": "#0072B2", "not significant": "#BBBBBB", "not comparable": "#BBBBBB"}
FOOTER_IN = 0.28


def style_of(name: str) -> tuple[str, str]:
    """The colour and marker for a strategy or series name, stable within the process."""
    base = name.split(" (")[0]
    if base in _FIXED:
        return _FIXED[base]
    if base not in _assigned:
        _assigned[base] = next(_cycle)
    return _assigned[base]


def new_figure(env: Environment, size: tuple[float, float]) -> Figure:
    """A figure with a constrained layout and the run's environment in a footer line."""
    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    frac = FOOTER_IN / size[1]
    fig.set_layout_engine(ConstrainedLayoutEngine(rect=(0, frac, 1, 1 - frac)))
    fig.text(0.005, 0.008, environment_line(env), fontsize=7, color="#555555", ha="left", va="bottom")
    return fig


def auto_scale(ax: Axes, axis: str, values: pd.Series, label: str) -> str:
    """Label the axis; use a log scale when the positive values span 20× or more (symlog when zero is among them)."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(float)
    v = v[np.isfinite(v)]
    pos = v[v > 0]
    scale = "linear"
    if pos.size >= 2 and pos.max() / pos.min() >= 20 and not (v < 0).any():
        scale = "symlog" if (v == 0).any() else "log"
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    if scale == "symlog":
        setter("symlog", linthresh=float(pos.min()), linscale=0.5)
    else:
        setter(scale)
    if scale != "linear":
        # Minor ticks on log axes cost most of the drawing time and add nothing the major grid does not show.
        (ax.xaxis if axis == "x" else ax.yaxis).set_minor_locator(NullLocator())
    suffix = ", log scale" if scale != "linear" and label else ""
    (ax.set_xlabel if axis == "x" else ax.set_ylabel)(label + suffix)
    return scale


def to_png(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes, rendered by Agg."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
