"""The dashboard page: KPI tiles, chart cards and tables in one self-contained HTML file.

plotly.js is inlined once in the head, so the page opens from disk with no server and
no network; every figure is a div drawn by it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from cx_value.dashboard.data import NoData

UNKNOWN = "\u2013"
"""How an unknown value shows (an en dash, titled 'unknown' in tables): never as 0."""

PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


@dataclass(frozen=True)
class Tile:
    """A headline figure: label, value, and a line saying what it rests on."""

    label: str
    value: str
    note: str
    is_missing: bool = False


@dataclass(frozen=True)
class Column:
    """A table column: header, source column and how to show a value."""

    header: str
    source: str
    show: Callable[[Any], str]
    numeric: bool = False


@dataclass(frozen=True)
class Card:
    """A section of the page: a chart, a table or a no-data panel, with its words."""

    key: str
    title: str
    subtitle: str
    body: go.Figure | str | NoData
    wide: bool = True
    facts: str = ""


def money(value: Any) -> str:
    return UNKNOWN if _unknown(value) else f"{float(value):,.0f}"


def percent(value: Any, digits: int = 0) -> str:
    return UNKNOWN if _unknown(value) else f"{float(value):.{digits}f} %"


def fraction_percent(value: Any) -> str:
    return UNKNOWN if _unknown(value) else f"{100 * float(value):.0f} %"


def number(value: Any, digits: int = 2) -> str:
    return UNKNOWN if _unknown(value) else f"{float(value):,.{digits}f}"


def text(value: Any) -> str:
    return UNKNOWN if _unknown(value) else str(value).replace("_", " ")


def date(value: Any) -> str:
    return UNKNOWN if _unknown(value) else pd.Timestamp(value).strftime("%-d %b %Y")


def _unknown(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def table_html(frame: pd.DataFrame, columns: Sequence[Column]) -> str:
    """An HTML table of ``frame``; unknown values show as a dash titled 'unknown'."""
    head = "".join(f'<th class="{"num" if c.numeric else ""}">{html.escape(c.header)}</th>'
                   for c in columns)
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for c in columns:
            shown = c.show(record.get(c.source))
            title = ' title="unknown"' if shown == UNKNOWN else ""
            cls = ' class="num"' if c.numeric else ""
            cells.append(f"<td{cls}{title}>{html.escape(shown)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<div class="table-wrap"><table class="data-table"><thead><tr>{head}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table></div>')


def _tile_html(tile: Tile) -> str:
    cls = "tile missing" if tile.is_missing else "tile"
    return (f'<div class="{cls}"><div class="tile-label">{html.escape(tile.label)}</div>'
            f'<div class="tile-value">{html.escape(tile.value)}</div>'
            f'<div class="tile-note">{html.escape(tile.note)}</div></div>')


def _card_html(card: Card) -> str:
    if isinstance(card.body, NoData):
        inner = (f'<div class="no-data" data-no-data="{html.escape(card.key)}">'
                 f'<strong>No data</strong>: {html.escape(card.body.reason)}</div>')
    elif isinstance(card.body, go.Figure):
        inner = card.body.to_html(full_html=False, include_plotlyjs=False,
                                  config=PLOT_CONFIG, div_id=f"chart-{card.key}")
    else:
        inner = card.body
    cls = "card wide" if card.wide else "card"
    facts = "" if isinstance(card.body, NoData) else card.facts
    return (f'<section class="{cls}" id="{html.escape(card.key)}">'
            f"<h2>{html.escape(card.title)}</h2>"
            f'<p class="subtitle">{html.escape(card.subtitle)}</p>{facts}{inner}</section>')


STYLE = """
:root { --ink:#1F2937; --muted:#6B7280; --line:#E5E7EB; --bg:#F3F4F6; --accent:#0072B2; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial,
  sans-serif; }
header { background:#0B2545; color:white; padding:22px 32px 18px; }
header h1 { margin:0 0 4px; font-size:26px; font-weight:650; }
header p { margin:0; color:#C7D2FE; font-size:14px; }
main { max-width:1360px; margin:0 auto; padding:20px 24px 40px; }
.tiles { display:grid; grid-template-columns:repeat(auto-fit, minmax(190px, 1fr));
  gap:14px; margin-bottom:20px; }
.tile { background:white; border-radius:10px; padding:14px 16px;
  border-top:4px solid var(--accent); box-shadow:0 1px 2px rgba(0,0,0,.06); }
.tile.missing { border-top-color:#9CA3AF; }
.tile-label { font-size:13px; color:var(--muted); text-transform:uppercase;
  letter-spacing:.04em; }
.tile-value { font-size:30px; font-weight:700; margin:4px 0 2px;
  font-variant-numeric: tabular-nums; }
.tile.missing .tile-value { font-size:18px; color:var(--muted); }
.tile-note { font-size:12.5px; color:var(--muted); }
.grid { display:grid; grid-template-columns:1fr 1fr; gap:18px; }
.card { background:white; border-radius:10px; padding:16px 18px 10px;
  box-shadow:0 1px 2px rgba(0,0,0,.06); min-width:0; }
.card.wide { grid-column:1 / -1; }
.card h2 { margin:0; font-size:18px; }
.subtitle { margin:4px 0 8px; color:var(--muted); font-size:13.5px; line-height:1.4; }
.no-data { border:2px dashed #D1D5DB; border-radius:8px; padding:40px 20px;
  text-align:center; color:var(--muted); font-size:15px; margin:8px 0 12px; }
.table-wrap { overflow-x:auto; }
.data-table { width:100%; border-collapse:collapse; font-size:13.5px; margin-bottom:8px; }
.data-table th { text-align:left; color:var(--muted); font-weight:600;
  border-bottom:2px solid var(--line); padding:6px 8px; white-space:nowrap; }
.data-table td { border-bottom:1px solid var(--line); padding:6px 8px; }
.data-table tr:nth-child(even) td { background:#F9FAFB; }
.num { text-align:right; font-variant-numeric: tabular-nums; }
.facts { display:flex; flex-wrap:wrap; gap:10px 28px; font-size:14px; margin:4px 0 12px; }
.facts b { font-size:18px; }
footer { color:var(--muted); font-size:12.5px; text-align:center; padding:0 0 24px; }
@media (max-width: 900px) { .grid { grid-template-columns:1fr; } }
"""


def render_page(title: str, subtitle: str, tiles: Sequence[Tile], cards: Sequence[Card],
                footer: str, generated_at: datetime) -> str:
    """The whole page as one HTML string, plotly.js inlined."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generated-at" content="{generated_at.isoformat(timespec="seconds")}">
<title>{html.escape(title)}</title>
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>
<main>
<div class="tiles">{"".join(_tile_html(t) for t in tiles)}</div>
<div class="grid">{"".join(_card_html(c) for c in cards)}</div>
</main>
<footer>{html.escape(footer)}</footer>
</body>
</html>
"""
