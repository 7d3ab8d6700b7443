"""Runs read back for the Training page. A session lists its runs as summaries
(cnnviz.training.SavedRun.summary: no batch rows, no test predictions), so that a class's
sessions do not each hold every run they trained or reopened, whole. The run a page shows is
read whole from its folder, once per process for the few shown most recently (shared by the
sessions, read-only)."""

from pathlib import Path

import streamlit as st

from cnnviz import training

SHOWN_KEPT = 4  # whole runs kept per process: each session shows one at a time


@st.cache_resource(max_entries=SHOWN_KEPT, show_spinner=False)
def _whole(run_json: str, stamp: tuple[int, int]) -> training.SavedRun:
    return training.load_run(Path(run_json).parent)


def whole(run: training.SavedRun) -> training.SavedRun:
    """run (a summary, or whole) as its folder holds it now, all of it; ValueError with a
    sentence when its folder can no longer be read."""
    record = run.run_dir / "run.json"
    try:
        stat = record.stat()
    except OSError as error:
        raise ValueError(f"The run's folder {run.run_dir} can no longer be read "
                         f"({error.strerror or error}).") from error
    return _whole(str(record), (stat.st_mtime_ns, stat.st_size))
