"""Compare what the student's function returned with cnnviz.ops, case by case.

A value is right when np.isclose(got, expected) with the course's tolerances (np.allclose's
defaults: rtol 1e-5, atol 1e-8; float64 inputs, so a right answer differs by rounding only).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.check.cases import ATOL, RTOL, TASKS, Case
from cnnviz.check.runner import Outcome


@dataclass(frozen=True)
class OutputResult:
    """One returned array against the expected one. wrong: bool mask (expected's shape) or None
    when the shapes differ."""

    name: str
    expected: np.ndarray
    got: np.ndarray | None
    wrong: np.ndarray | None

    @property
    def shape_ok(self) -> bool:
        return self.got is not None and self.got.shape == self.expected.shape

    @property
    def ok(self) -> bool:
        return self.shape_ok and not self.wrong.any()

    @property
    def max_error(self) -> float | None:
        return float(np.abs(self.got - self.expected).max()) if self.shape_ok else None

    @property
    def first_wrong(self) -> tuple[int, ...] | None:
        """Index of the first wrong value in row-major (C) order."""
        if not self.shape_ok or not self.wrong.any():
            return None
        return tuple(int(k) for k in np.unravel_index(int(np.argmax(self.wrong)), self.wrong.shape))


@dataclass(frozen=True)
class CaseResult:
    """A case and how the student did. status: "pass", "fail" (wrong values), "shape" (wrong
    shape) or the Outcome's kind when the call itself failed."""

    case: Case
    outcome: Outcome
    outputs: tuple[OutputResult, ...]

    @property
    def status(self) -> str:
        if self.outcome.kind != "ok":
            return self.outcome.kind
        if not all(output.shape_ok for output in self.outputs):
            return "shape"
        return "pass" if all(output.ok for output in self.outputs) else "fail"

    @property
    def failing(self) -> list[OutputResult]:
        return [output for output in self.outputs if not output.ok]


def grade(case: Case, outcome: Outcome) -> CaseResult:
    names = TASKS[case.task][1]
    if outcome.kind != "ok":
        return CaseResult(case, outcome, ())
    results = []
    for name, expected, got in zip(names, case.expected, outcome.outputs):
        wrong = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL) if got.shape == expected.shape \
            else None
        results.append(OutputResult(name, expected, got, wrong))
    return CaseResult(case, outcome, tuple(results))


COLUMNS = ("case", "result", "max abs error", "first wrong index")


def table_row(result: CaseResult) -> tuple[str, str, str, str]:
    """The case's line in the results table (see COLUMNS)."""
    status = result.status
    if status in ("pass", "fail", "shape"):
        failing = result.failing
        errors = [output.max_error for output in result.outputs if output.max_error is not None]
        where = [f"{output.name}{list(output.first_wrong)}" for output in failing
                 if output.first_wrong is not None]
        where += [f"{output.name} shape {output.got.shape}, expected {output.expected.shape}"
                  for output in failing if not output.shape_ok]
        names = f" ({', '.join(output.name for output in failing)})" if len(result.outputs) > 1 \
            and failing else ""
        label = {"pass": "pass", "fail": "FAIL", "shape": "FAIL shape"}[status] + names
        return result.case.name, label, f"{max(errors):.3g}" if errors else "", "; ".join(where)
    return result.case.name, status.upper() if status != "not run" else "not run", "", ""


@dataclass(frozen=True)
class TaskReport:
    """What one task's check found: the file, its results, the likely mistakes per case name (as
    from diagnose.explain_all), the summary lines, the paragraphs of any problem."""

    task: str
    path: Path
    results: list[CaseResult]
    explained: dict
    summary: list[str]
    problems: list[str]
