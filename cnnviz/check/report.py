"""`cnnviz check --report`: one self-contained HTML page (plotly.js inline, works offline).

Per task: the results table, the likely mistakes, then per failing case and wrong output the
expected values, the student's and their difference for the first wrong example and channel
(for dW: the first wrong kernel slice W[:, :, c_prev, c_new]; db as one row). Task 5's points
have no arrays: a failing point shows the course's and the student's model side by side in words.
"""

import html
import os
import tempfile
from pathlib import Path

import numpy as np
import plotly.offline

from cnnviz.check import diagnose
from cnnviz.check.cases import MODEL_TASKS
from cnnviz.check.grade import COLUMNS, CaseResult, OutputResult, TaskReport, table_row
from cnnviz.figures.check import comparison_figure

STYLE = """body { font-family: system-ui, sans-serif; margin: 2em; max-width: 1200px; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; border-bottom: 1px solid #ddd; }
td.FAIL, td.fail { color: #b00; font-weight: bold; } td.pass { color: #070; }
pre { background: #f6f6f6; padding: 8px; white-space: pre-wrap; }"""


def write_report(path: Path, reports: list[TaskReport]) -> None:
    """Write the page to `path` atomically (temp file, then os.replace)."""
    body = [f"<h1>cnnviz check: {html.escape(', '.join(r.path.name for r in reports))}</h1>"]
    for report in reports:
        body.append(_task_section(report))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>cnnviz check</title>"
            f"<style>{STYLE}</style><script>{plotly.offline.get_plotlyjs()}</script></head>"
            f"<body>{''.join(body)}</body></html>")
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.resolve().parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(page)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _task_section(report: TaskReport) -> str:
    passed = sum(r.status == "pass" for r in report.results)
    parts = [f"<h2>{html.escape(report.task)} ({html.escape(str(report.path))})</h2>",
             f"<p>{passed} of {len(report.results)} "
             f"{'points' if report.task in MODEL_TASKS else 'cases'} pass.</p>"]
    parts += [f"<pre>{html.escape(problem)}</pre>" for problem in report.problems]
    header = "".join(f"<th>{html.escape(column)}</th>" for column in COLUMNS)
    rows = []
    for result in report.results:
        cells = table_row(result)
        status_class = cells[1].split()[0]
        rows.append("<tr>" + "".join(
            f"<td class='{status_class if k == 1 else ''}'>{html.escape(cell)}</td>"
            for k, cell in enumerate(cells)) + "</tr>")
    parts.append(f"<table><tr>{header}</tr>{''.join(rows)}</table>")
    if report.summary:
        parts.append("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in report.summary)
                     + "</ul>")
    for result in report.results:
        if result.status in ("fail", "shape"):
            parts.append(_case_section(result, report.explained[result.case.name]))
    return "".join(parts)


def _case_section(result: CaseResult, explained: dict) -> str:
    parts = [f"<h3>{html.escape(result.case.name)}</h3>",
             f"<p>{html.escape(result.case.describe())}</p>"]
    for output in result.failing:
        for key, fields in explained.get(output.name, []):
            parts.append(f"<p>{html.escape(output.name)}: likely "
                         f"{html.escape(diagnose.text(key, fields))}.</p>")
        expected, got, where = image_slices(output)
        figure = comparison_figure(expected, got, f"{output.name}, {where}")
        parts.append(figure.to_html(full_html=False, include_plotlyjs=False))
    return "".join(parts)


def image_slices(output: OutputResult) -> tuple[np.ndarray, np.ndarray, str]:
    """(expected 2-D, got 2-D, which slice) at the first wrong value (or the first slice when the
    shapes differ): one example and channel of an NHWC output, one kernel slice of dW."""
    expected, got = output.expected, output.got
    if expected.ndim < 4:  # the homework's numbers, vectors and matrices: all of them
        return _rows(expected), _rows(got), "all values"
    index = output.first_wrong or (0,) * expected.ndim
    if output.name == "db":
        return expected.reshape(1, -1), got.reshape(1, -1), "all filters"
    if output.name == "dW":
        i, j = index[2], index[3]
        where = f"[:, :, {i}, {j}]"
        return expected[:, :, i, j], _slice(got, (slice(None), slice(None), i, j)), f"dW{where}"
    n, c = index[0], index[3]
    return (expected[n, :, :, c], _slice(got, (n, slice(None), slice(None), c)),
            f"example {n}, channel {c}")


def _rows(array: np.ndarray) -> np.ndarray:
    """The array as 2-D: a number or a vector as one row."""
    return array.reshape(1, -1) if array.ndim < 2 else array.reshape(array.shape[0], -1)


def _slice(got: np.ndarray, where: tuple) -> np.ndarray:
    """got[where] with indices clipped to got's shape; got itself made 2-D when not 4-D."""
    if got.ndim != 4:
        return got.reshape(got.shape[0], -1) if got.ndim >= 2 else got.reshape(1, -1)
    clipped = tuple(w if isinstance(w, slice) else min(w, size - 1)
                    for w, size in zip(where, got.shape))
    return got[clipped]
