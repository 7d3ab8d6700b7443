"""`python -m cnnviz.serving.boot run app.py [options]`: `streamlit run`, with the home page's
imports done before a browser asks for it.

Between its health check and a browser's websocket the server idles for 1-2 s while the browser
fetches and runs Streamlit's frontend (2.9 MB). The home page's first run spent 0.5-0.9 s of the
student's wait importing cnnviz.ui (NumPy, PIL), the class frame (SQLAlchemy) and loading the
digits (BENCHMARKS.md, issue 23's cold start). Here a daemon thread does that work in the idle
time: it waits for the Runtime to start, so the server comes up as fast as before, then imports
PRELOAD and fills the caches the home page reads first. A page that comes earlier waits for the
import in progress (Python's per-module import lock, so no half-imported module is seen) and does
the rest itself.

Everything else is `streamlit run`'s: Streamlit's command line runs in this process's main
thread, so its options, signal handlers and exit code are those of `python -m streamlit`.
"""

import contextlib
import importlib
import logging
import sys
import threading
import time

# What the home page's first run imported (-X importtime of the served process, BENCHMARKS.md):
# the explorer's widgets, the class frame and the page icon's check of its Material name.
PRELOAD = ("cnnviz.ui", "cnnviz.ui.classroom", "streamlit.material_icon_names")
DATASET = "mnist"  # the dataset a new session shows (home and the explorer pages)
POLL_SECONDS = 0.01
RUNTIME_SECONDS = 120  # a Runtime not started by then never will: the server has failed
THREAD_NAME = "cnnviz-boot"
_LOG = logging.getLogger(__name__)


def runtime_started(timeout: float = RUNTIME_SECONDS) -> bool:
    """Wait until Streamlit's Runtime runs (it starts as the server begins to listen); False if
    it stops or has not started within `timeout` s."""
    from streamlit import runtime
    from streamlit.runtime import RuntimeState

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = runtime.get_instance().state if runtime.exists() else RuntimeState.INITIAL
        if state in (RuntimeState.STOPPING, RuntimeState.STOPPED):
            return False
        if state != RuntimeState.INITIAL:
            return True
        time.sleep(POLL_SECONDS)
    return False


class _OutsideScriptRun(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" warnings of the boot thread: it fills the
    caches outside any script run on purpose, and a teacher's terminal need not say so."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.threadName == THREAD_NAME and "ScriptRunContext" in record.getMessage())


@contextlib.contextmanager
def _quiet_outside_script_run():
    logger = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    quiet = _OutsideScriptRun()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def warm() -> None:
    """Fill what the home page reads first: the dataset (cached for every session) and the class
    store (its engine, and the tables, created now rather than by the first student's page)."""
    from cnnviz import data, ui
    from cnnviz.ui import classroom

    with _quiet_outside_script_run(), contextlib.suppress(data.DatasetError):
        ui.dataset(DATASET)  # a missing dataset: the page says so itself
    with contextlib.suppress(classroom.StoreUnavailable):  # the banner says so itself
        classroom.class_store().ensure_schema()


def preload() -> None:
    """Once the Runtime runs: import PRELOAD, then warm(). A failure is logged; the page that
    needs the module imports it again and shows the error."""
    if not runtime_started():
        return
    try:
        for name in PRELOAD:
            importlib.import_module(name)
        warm()
    except Exception:
        _LOG.warning("cnnviz boot: preloading the home page failed", exc_info=True)


def main() -> None:
    """`streamlit <sys.argv[1:]>`, with preload() on a daemon thread beside it."""
    from streamlit.web import cli  # first, on this thread: the preload's thread then only waits

    threading.Thread(target=preload, name=THREAD_NAME, daemon=True).start()
    cli.main(prog_name="streamlit")  # exits the process, as `python -m streamlit` does


if __name__ == "__main__":
    sys.exit(main())
