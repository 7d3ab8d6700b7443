"""The home page's first run, done ahead by the server (cnnviz.serving.boot runs WARM_STEPS).

Importing this module is most of the work: it imports cnnviz.ui (NumPy, PIL, the scrub component)
and the class frame (SQLAlchemy), which the home page's first run otherwise imported on the first
student's clock (BENCHMARKS.md, issue 23's cold start). WARM_STEPS fill what that run reads first.
"""

import contextlib
import logging
import threading

from cnnviz import data
from cnnviz.ui import classroom, inputs

DATASET = "mnist"  # the dataset a new session shows (home and the explorer pages)
CONTEXT_LOGGER = "streamlit.runtime.scriptrunner_utils.script_run_context"


class _ThisThread(logging.Filter):
    """Drops one thread's "missing ScriptRunContext" warnings: it calls the cached functions
    outside any script run on purpose, and a teacher's terminal need not say so."""

    def __init__(self):
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread or "ScriptRunContext" not in record.getMessage()


@contextlib.contextmanager
def _outside_script_run():
    logger, quiet = logging.getLogger(CONTEXT_LOGGER), _ThisThread()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def load_dataset() -> None:
    """The dataset a new session shows, in the cache every session reads."""
    with _outside_script_run(), contextlib.suppress(data.DatasetError):
        inputs.dataset(DATASET)  # a missing dataset: the page says so itself


def open_store() -> None:
    """The class store's engine; for SQLite also its tables, created now rather than by the
    first page."""
    with contextlib.suppress(classroom.StoreUnavailable):  # the banner says so itself
        store = classroom.class_store()
        # A local file answers at once. A database server that is down would hold the schema's
        # lock for its connect timeout, and the first page would wait for that, then its own.
        if store.dialect == "sqlite":
            store.ensure_schema()


# What the home page reads first, in steps the caller may space out (cnnviz.serving.boot)
WARM_STEPS = (load_dataset, open_store)
