"""HTML building blocks for the standalone report: escaping, tables, embedded images, the page shell and CSS."""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence

import pandas as pd
from matplotlib.figure import Figure

from perfkit.report._format import format_frame
from perfkit.report._plot import to_png

CSS = """
:root { --fg:#1b1f24; --muted:#5b636e; --line:#d8dee4; --band:#f6f8fa; --accent:#0072B2; --bad:#D55E00; }
* { box-sizing:border-box; }
body { font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; color:var(--fg);
       margin:0; background:#fff; }
main { max-width:1500px; margin:0 auto; padding:24px 32px 48px; }
h1 { font-size:28px; margin:0 0 4px; } h2 { font-size:22px; margin:40px 0 8px; border-bottom:2px solid var(--line);
     padding-bottom:4px; } h3 { font-size:17px; margin:24px 0 6px; } h4 { font-size:15px; margin:16px 0 4px; }
p { margin:6px 0 10px; max-width:75em; } .muted { color:var(--muted); font-size:13px; }
nav { margin:12px 0 8px; font-size:14px; } nav a { margin-right:14px; color:var(--accent); text-decoration:none; }
.table-wrap { overflow-x:auto; margin:6px 0 14px; }
table { border-collapse:collapse; font-size:13px; max-width:100%; }
table.wide { font-size:12px; }
table.grid { width:100%; table-layout:fixed; } table.grid td { overflow-wrap:anywhere; }
table.wide th, table.wide td { padding:3px 6px; }
th, td { padding:4px 10px; border-bottom:1px solid var(--line); text-align:left; vertical-align:top;
         white-space:normal; overflow-wrap:break-word; }
th { background:var(--band); font-weight:600; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
tr:nth-child(even) td { background:#fbfcfd; }
tr.differs td { background:#fff4e5; }
td.slower, td.faster, td.not-significant { white-space:nowrap; }
td.slower { color:var(--bad); font-weight:600; } td.faster { color:var(--accent); font-weight:600; }
td.new, td.removed { color:var(--muted); font-style:italic; }
img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; margin:6px 0 12px; }
.runs { display:grid; gap:28px; grid-template-columns:repeat(var(--runs), minmax(0, 1fr)); }
.run-head { font-weight:600; color:var(--muted); border-bottom:1px dashed var(--line); margin-bottom:6px; }
.note { background:var(--band); border-left:4px solid var(--line); padding:8px 12px; margin:8px 0; }
.warn { background:#fff4e5; border-left:4px solid var(--bad); padding:8px 12px; margin:8px 0; }
details { margin:10px 0; } summary { cursor:pointer; color:var(--accent); }
ul.findings { margin:6px 0 12px 0; padding-left:20px; } ul.findings li { margin:3px 0; }
footer { margin-top:40px; color:var(--muted); font-size:12px; }
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def para(text: str, cls: str = "") -> str:
    return f'<p class="{cls}">{esc(text)}</p>' if cls else f"<p>{esc(text)}</p>"


def note(text: str, kind: str = "note") -> str:
    return f'<div class="{kind}">{esc(text)}</div>'


def image(fig: Figure, alt: str) -> str:
    """A figure embedded as a base64 PNG data URI (deferred while `pending` collects figures to share y limits)."""
    if pending is not None:
        pending.append((alt, fig))
        return f"\x00fig{len(pending) - 1}\x00"
    data = base64.b64encode(to_png(fig)).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


pending: list[tuple[str, Figure]] | None = None


def share_y(html_text: str, figs: list[tuple[str, Figure]]) -> str:
    """Give figures of the same kind (same alt text) the same y limits per panel, then embed them all."""
    by_alt: dict[str, list[Figure]] = {}
    for alt, fig in figs:
        by_alt.setdefault(alt, []).append(fig)
    for group in by_alt.values():
        if len(group) < 2 or len({len(f.axes) for f in group}) != 1:
            continue
        for k in range(len(group[0].axes)):
            axes = [f.axes[k] for f in group]
            if len({a.get_yscale() for a in axes}) != 1 or axes[0].get_label() == "<colorbar>":
                continue
            lims = [a.get_ylim() for a in axes]
            inverted = lims[0][0] > lims[0][1]
            lo, hi = min(min(x) for x in lims), max(max(x) for x in lims)
            for a in axes:
                a.set_ylim((hi, lo) if inverted else (lo, hi))
    global pending
    saved, pending = pending, None
    try:
        for i, (alt, fig) in enumerate(figs):
            html_text = html_text.replace(f"\x00fig{i}\x00", image(fig, alt))
    finally:
        pending = saved
    return html_text


def _numeric(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s)) and not bool(pd.api.types.is_bool_dtype(s))


def table(
    raw: pd.DataFrame,
    *,
    row_classes: Sequence[str] | None = None,
    cell_class_column: str | None = None,
    grid: bool = False,
) -> str:
    """A report frame as an HTML table formatted for people (units, rounding); numbers right-aligned."""
    if raw.empty:
        return note("nothing recorded")
    raw = raw.reset_index(drop=True)
    shown = format_frame(raw)
    numeric = [_numeric(raw[c]) for c in raw.columns]
    head = "".join(f"<th>{esc(c)}</th>" for c in shown.columns)
    body = []
    for i in range(len(shown)):
        cells = []
        for j, col in enumerate(raw.columns):
            cls = "num" if numeric[j] else ""
            if col == cell_class_column:
                cls = str(raw[col].iloc[i]).replace(" ", "-")
            cells.append(
                f'<td class="{cls}">{esc(shown.iat[i, j])}</td>' if cls else f"<td>{esc(shown.iat[i, j])}</td>"
            )
        rc = row_classes[i] if row_classes else ""
        body.append((f'<tr class="{rc}">' if rc else "<tr>") + "".join(cells) + "</tr>")
    wide = "wide" if len(raw.columns) > 6 or shown.map(len).to_numpy().max(initial=0) > 40 else ""
    wide = f' class="{wide} grid"' if grid else (f' class="{wide}"' if wide else "")
    rows = "".join(body)
    return f'<div class="table-wrap"><table{wide}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def pivot_table(wide: pd.DataFrame, index_name: str) -> str:
    """A pivoted frame (row labels in the index) as a table of equal columns that wrap (never wider than the page)."""
    if wide.empty:
        return note("nothing recorded")
    return table(wide.rename_axis(index_name).reset_index().rename(columns=str), grid=True)


def details(summary: str, body: str) -> str:
    return f"<details><summary>{esc(summary)}</summary>{body}</details>"


def bullet_list(items: Iterable[str]) -> str:
    lis = "".join(f"<li>{esc(i)}</li>" for i in items)
    return f'<ul class="findings">{lis}</ul>' if lis else ""


def runs_grid(columns: Sequence[tuple[str, str]]) -> str:
    """Side-by-side columns, one per run: (heading, body html); more than two runs are stacked one above the other."""
    if len(columns) == 1:
        return columns[0][1]
    cells = "".join(f'<div><div class="run-head">{esc(h)}</div>{b}</div>' for h, b in columns)
    return f'<div class="runs" style="--runs:{len(columns) if len(columns) <= 2 else 1}">{cells}</div>'


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>{body}</main></body></html>\n"
    )
