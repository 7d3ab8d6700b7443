"""The step-through's grids as HTML tables (cnnviz/ui/tables.py)."""

import re

import numpy as np
import pytest

from cnnviz.ui import tables


def test_grid_html_prints_each_value_on_its_colour():
    shown = tables.grid_html(np.array([[-2.0, 0.0], [1.0, 2.0]]), "kernel <k>")
    assert "<caption" in shown and "kernel &lt;k&gt;" in shown  # titles are escaped
    cells = re.findall(r"background: (rgb\([^)]*\))\">([^<]*)</td>", shown)
    assert cells == [("rgb(55, 155, 255)", "-2"), ("rgb(255, 255, 255)", "0"),
                     ("rgb(255, 155, 155)", "1"), ("rgb(255, 55, 55)", "2")]
    assert shown.count("<tr>") == 2


def test_values_print_to_three_significant_digits_and_no_negative_zero():
    shown = tables.grid_html([[0.123456, -0.0], [1234.5, 1e-7]], "window")
    assert re.findall(r">([^<]*)</td>", shown) == ["0.123", "0", "1.23e+03", "1e-07"]


def test_grids_html_sets_grids_side_by_side_in_order():
    shown = tables.grids_html([np.ones((2, 2)), np.zeros((3, 3))], ["a", "b"])
    assert shown.count("<table") == 2 and shown.index(">a<") < shown.index(">b<")
    assert len(re.findall("<td", shown)) == 4 + 9


def test_all_zero_grid_is_white_and_bad_shapes_are_refused():
    assert "rgb(255, 255, 255)" in tables.grid_html(np.zeros((1, 1)), "z")
    with pytest.raises(ValueError, match="2-D"):
        tables.grid_html(np.zeros((2, 2, 1)), "x")
    with pytest.raises(ValueError, match="one entry per grid"):
        tables.grids_html([np.zeros((1, 1))], ["a", "b"])


def test_code_lines_puts_each_line_in_inline_code_on_its_own_line():
    assert tables.code_lines(["h_new = 1", "w_new = 2"]) == "`h_new = 1`  \n`w_new = 2`"
