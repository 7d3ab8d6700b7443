"""Small grids of numbers as HTML tables, for st.html: the Convolution page's step-through; and
lines of a formula as inline code, for st.markdown.

A table and not a Plotly chart: a chart on the page makes the browser fetch Streamlit's own
Plotly.js (4.7 MB) at the page's first visit, for three grids of at most a few dozen numbers; a
table costs nothing to load, and a screen reader reads its numbers. The colours follow the scrub
component's window table (cnnviz/ui/scrub/assets/draw.js, fillWindow): blue below zero, red above,
white at zero, each grid scaled to its own largest |value|, so the page and the component agree.
"""

import html

import numpy as np

_TABLE = "border-collapse: collapse; font-variant-numeric: tabular-nums"
_CELL = "border: 1px solid #ccc; padding: 0.2rem 0.45rem; text-align: center; color: #222"


def cell_colour(value: float, limit: float) -> str:
    """The background of a cell holding value in a grid whose largest |value| is limit."""
    strength = round(200 * abs(value) / max(limit, 1e-12))  # 0: white, 200: saturated
    if value < 0:
        return f"rgb({255 - strength}, {255 - strength / 2:g}, 255)"
    return f"rgb(255, {255 - strength}, {255 - strength})"


def grid_html(grid, title: str) -> str:
    """One 2-D grid (h, w) as a table captioned title, each value to 3 significant digits."""
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 2:
        raise ValueError(f"grid must be 2-D (h, w), got shape {grid.shape}")
    limit = float(np.abs(grid).max()) if grid.size else 0.0
    rows = "".join(
        "<tr>" + "".join(
            f'<td style="{_CELL}; background: {cell_colour(v, limit)}">{v + 0.0:.3g}</td>'
            for v in row) + "</tr>"
        for row in grid)
    return (f'<table style="{_TABLE}"><caption style="caption-side: top; white-space: nowrap">'
            f"{html.escape(title)}</caption>{rows}</table>")


def grids_html(grids, titles) -> str:
    """Grids side by side (wrapping on a narrow screen), each with its title above it."""
    if len(grids) != len(titles):
        raise ValueError(f"titles must have one entry per grid ({len(grids)}), got {len(titles)}")
    tables = "".join(grid_html(grid, title) for grid, title in zip(grids, titles))
    return f'<div style="display: flex; flex-wrap: wrap; gap: 1rem">{tables}</div>'


def code_lines(lines) -> str:
    """Lines of plain text (a formula) as Markdown: each line inline code, one line each.

    Inline code and not st.code: st.code makes the browser fetch Streamlit's syntax highlighter
    (1.5 MB) at a page's first visit, for two lines of plain text.
    """
    return "  \n".join(f"`{line}`" for line in lines)
