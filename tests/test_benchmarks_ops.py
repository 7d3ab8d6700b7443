"""`python -m benchmarks ops --json` on a tiny workload: its Markdown table, then one JSON line
with the same cases. Checks the output's form only; the figures themselves go to BENCHMARKS.md."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ops_benchmark_ends_with_a_json_line_of_its_table():
    pytest.importorskip("tensorflow")  # a listed requirement: this skip never hides a feature
    command = [sys.executable, "-m", "benchmarks", "ops", "--json",
               "--m", "16", "--repeats", "1", "--pixel-sample", "1"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    *markdown, last = result.stdout.strip().splitlines()
    figures = json.loads(last)
    rows = [line for line in markdown if line.startswith("| ") and not line.startswith("| op ")]
    assert figures["benchmark"] == "ops" and markdown[0].startswith("Machine: ")
    assert [case["op"] for case in figures["cases"]] == [row.split(" | ")[0][2:] for row in rows]
    assert len(rows) == 12 and not any(line.startswith("{") for line in markdown)
    for case in figures["cases"]:
        ours, theirs, loop = case["cnnviz_s"], case["tensorflow_s"], case["loop_s"]
        assert case["cnnviz_over_tensorflow"] == pytest.approx(ours / theirs)
        assert case["loop_over_cnnviz"] == pytest.approx(loop / ours)
