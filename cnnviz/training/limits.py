"""The training service's bounds: how many runs may train at once and wait for a slot (the
environment's word, checked), and how large a report Ray hands back inline."""

import os

MAX_RUNS_ENV = "CNNVIZ_MAX_RUNS"
MAX_QUEUED_ENV = "CNNVIZ_MAX_QUEUED"
# Reports (a checkpoint's model file in them) come back inline, not through Ray's object store:
# with one read from the store, Ray ended this whole process when the run's task failed after
# the head's raylet died ("The connection to the plasma store is failed").
REPORT_INLINE_BYTES = 32 * 2**20
# What every Ray this app starts is set up with: the embedded one (ray.init) and the launcher's
# head (`ray start --head --system-config`, cnnviz.serving.replicas), whose drivers take it.
RAY_SYSTEM_CONFIG = {"max_direct_call_object_size": REPORT_INLINE_BYTES}


def _positive_env(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        number = int(value) if value else default
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return number


def max_runs() -> int:
    """Runs training at once on the embedded Ray: $CNNVIZ_MAX_RUNS, default cores - 1 (>= 1)."""
    return _positive_env(MAX_RUNS_ENV, max(1, (os.cpu_count() or 2) - 1))


def max_queued() -> int:
    """Runs allowed to wait for a slot, over all replicas: $CNNVIZ_MAX_QUEUED, default 100."""
    return _positive_env(MAX_QUEUED_ENV, 100)
