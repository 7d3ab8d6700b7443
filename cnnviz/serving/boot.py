"""`python -m cnnviz.serving.boot run app.py [options]`: `python -m streamlit run app.py [options]`,
with the home page's imports done before a browser asks for it.

Between its health check and a browser's websocket the server idles for 1-2 s while the browser
fetches and runs Streamlit's frontend (2.9 MB). The home page's first run spent 0.5-0.9 s of the
student's wait importing cnnviz.ui (NumPy, PIL), the class frame (SQLAlchemy) and loading the
digits (BENCHMARKS.md, issue 23's cold start). Here a daemon thread does that work in the idle
time (cnnviz.ui.preload), once the server answers its health check, in steps, each begun only when
the server's main thread (its HTTP server and websockets) is idle: an import holds the GIL, often
in long stretches of C, and slows any request served meanwhile (the first health check, the
frontend's files). A page that comes earlier waits for the import in progress (Python's per-module
import lock, so no half-imported module is seen) and does the rest itself.

Before Streamlit starts, the process's allocator is set for a long-lived server
(cnnviz.serving.malloc). Everything else is `python -m streamlit`'s, run in this process's main
thread: its options, its signal handlers, its exit code.
"""

import http.client
import importlib
import runpy
import sys
import threading
import time

from cnnviz.serving import malloc

POLL_SECONDS = 0.05
# The heavy imports of the home page, one step each (then cnnviz.ui.preload's WARM_STEPS)
IMPORT_STEPS = ("numpy", "PIL.Image", "sqlalchemy", "cnnviz.ui", "cnnviz.ui.classroom",
                "cnnviz.ui.preload")
IDLE_SECONDS = 0.05  # the window in which the main thread must stay idle before a step
IDLE_FRACTION = 0.2  # of IDLE_SECONDS: more CPU than that is serving, not idling
SERVED_SECONDS = 120  # a server not answering by then has failed: nothing to preload for
THREAD_NAME = "cnnviz-boot"
ANY_ADDRESS = ("", "0.0.0.0", "::")  # listening everywhere: reached on loopback


def option(argv: list[str], name: str, default: str) -> str:
    """The value of Streamlit option `name` in argv (`--name value` or `--name=value`; the last
    one given wins, as in Streamlit's command line)."""
    value = default
    for k, word in enumerate(argv):
        if word == name and k + 1 < len(argv):
            value = argv[k + 1]
        elif word.startswith(name + "="):
            value = word.split("=", 1)[1]
    return value


def health_address(argv: list[str]) -> tuple[str, int, str]:
    """(host, port, path) of the health check of the server `streamlit <argv>` starts."""
    address = option(argv, "--server.address", "")
    base = option(argv, "--server.baseUrlPath", "").strip("/")
    return ("127.0.0.1" if address in ANY_ADDRESS else address,
            int(option(argv, "--server.port", "8501")),
            f"/{base}/_stcore/health" if base else "/_stcore/health")


def answers(host: str, port: int, path: str) -> bool:
    """Whether the server answers its health check now (a request to a socket that listens waits
    until the server serves it)."""
    connection = http.client.HTTPConnection(host, port, timeout=SERVED_SECONDS)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def wait_while_serving(deadline: float) -> None:
    """Return once the main thread used under IDLE_FRACTION of the last IDLE_SECONDS (or at
    `deadline`): it waits for the network, not serving a request."""
    clock = time.pthread_getcpuclockid(threading.main_thread().ident)
    while time.monotonic() < deadline:
        used = time.clock_gettime(clock)
        time.sleep(IDLE_SECONDS)
        if time.clock_gettime(clock) - used < IDLE_FRACTION * IDLE_SECONDS:
            return


def preload_once_served(argv: list[str]) -> None:
    """Wait until the server answers its health check, then preload the home page, a step at a
    time while the server idles."""
    deadline = time.monotonic() + SERVED_SECONDS
    while not answers(*health_address(argv)):
        if time.monotonic() > deadline:
            return
        time.sleep(POLL_SECONDS)
    for name in IMPORT_STEPS:
        wait_while_serving(deadline)
        importlib.import_module(name)
    from cnnviz.ui import preload  # imported by the last step

    for step in preload.WARM_STEPS:
        wait_while_serving(deadline)
        step()


def main() -> None:
    """Start preload_once_served beside `python -m streamlit <sys.argv[1:]>`."""
    malloc.hold_mmap_threshold()
    threading.Thread(target=preload_once_served, args=(sys.argv[1:],), name=THREAD_NAME,
                     daemon=True).start()
    runpy.run_module("streamlit", run_name="__main__", alter_sys=True)  # exits the process


if __name__ == "__main__":
    main()
