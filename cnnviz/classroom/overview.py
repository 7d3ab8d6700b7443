"""What the teacher's Class page shows of the class's runs: one row per run of the shared runs
folder, its student (students.run_owners), who needs help, and the table as CSV.

Runs stay files in runs/ (cnnviz.training.runs), read the same by every replica; the store only
knows whose run is whose. A run no student labelled is shown without a name.
"""

import csv
import io
import os
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the rows read SavedRun's fields; importing cnnviz.training costs every page
    from cnnviz.training.runs import SavedRun

REPLICA_ENV = "CNNVIZ_REPLICA"  # set per replica by `cnnviz app --replicas K`
NEEDS_HELP = ("failed", "interrupted")  # a run that ended without the student stopping it
FORMULA_STARTS = ("=", "+", "-", "@")
COLUMNS = ("student", "run", "model", "backend", "dataset", "state", "epoch", "val_accuracy",
           "test_accuracy", "images_per_s", "error")


def replica_name() -> str:
    """This process's name in the count of connected students: $CNNVIZ_REPLICA, else host:pid
    (one process serving the class)."""
    return os.environ.get(REPLICA_ENV) or f"{socket.gethostname()}:{os.getpid()}"


def run_row(run: "SavedRun", owners: dict[str, str]) -> dict:
    """One run as a row of COLUMNS: numbers rounded for the screen, None where the runs folder
    does not tell (no epoch finished yet, no test set evaluated)."""
    epochs = run.history.epochs
    last = epochs[-1] if epochs else {}
    val = last.get("val_accuracy")
    speed = run.history.images_per_second or last.get("images_per_second")
    return {
        "student": owners.get(run.run_dir.name, ""),
        "run": run.run_dir.name,
        "model": run.config.model,
        "backend": run.config.backend,
        "dataset": run.config.dataset,
        "state": run.status,
        "epoch": f"{len(epochs)}/{run.config.epochs}",
        "val_accuracy": None if val is None else round(float(val), 4),
        "test_accuracy": (None if run.history.test_accuracy is None
                          else round(float(run.history.test_accuracy), 4)),
        "images_per_s": round(float(speed)) if speed else None,
        "error": last_line(run.error),
    }


def last_line(text: str | None) -> str:
    """The last line of an error (its message, after the traceback), or ""."""
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else ""


def class_rows(runs: "list[SavedRun]", owners: dict[str, str]) -> list[dict]:
    """Every run as a row (run_row), in the order given (list_runs: newest first)."""
    return [run_row(run, owners) for run in runs]


def needs_help(rows: list[dict]) -> list[dict]:
    """The rows of runs that failed or were interrupted."""
    return [row for row in rows if row["state"] in NEEDS_HELP]


def rows_csv(rows: list[dict]) -> str:
    """The rows as CSV text with a header of COLUMNS. Cells that a spreadsheet would run as a
    formula (=, +, -, @ first) get a leading apostrophe: a student's name is not a formula."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "'" + value if isinstance(value, str) and value.startswith(
            FORMULA_STARTS) else value for key, value in row.items()})
    return out.getvalue()
