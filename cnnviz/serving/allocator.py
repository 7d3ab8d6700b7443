"""The served processes' memory allocator: jemalloc when it is installed, else glibc's malloc.

Why: under a class, a Streamlit server on glibc's malloc grew linearly, ~60-70 MB an hour with
no training and 130-340 MB an hour with a run training, none of it held by Python objects: the
growth sat in glibc's per-thread arenas and mmapped blocks (Streamlit runs each rerun on a new
script thread; Ray's threads take the runs' reports), and no glibc setting stopped it
(BENCHMARKS.md, classroom, "Lesson memory"). jemalloc gives freed pages back to the system after a
few seconds. It is preloaded (LD_PRELOAD) into the server's environment, so the server, its
embedded Ray and the replicas of `--replicas K` all allocate with it.

`CNNVIZ_JEMALLOC=0` serves with glibc's malloc (e.g. to compare, or if a library misbehaves).
Debian's libjemalloc2 provides it (scripts/system-deps.sh installs it); without it nothing changes.
"""

import glob
import os
import re

JEMALLOC_ENV = "CNNVIZ_JEMALLOC"
# Debian's multiarch folders first (libjemalloc2), then the other usual places
JEMALLOC_GLOBS = ("/usr/lib/*-linux-gnu/libjemalloc.so.2", "/usr/lib64/libjemalloc.so.2",
                  "/usr/lib/libjemalloc.so.2", "/usr/local/lib/libjemalloc.so.2")


def jemalloc_path() -> str | None:
    """The installed libjemalloc.so.2, or None."""
    for pattern in JEMALLOC_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def with_jemalloc(env: dict[str, str]) -> dict[str, str]:
    """env with jemalloc added to LD_PRELOAD when it is installed and env does not turn it off
    (CNNVIZ_JEMALLOC=0); otherwise env unchanged. A preload already there is kept, first."""
    library = jemalloc_path()
    if library is None or env.get(JEMALLOC_ENV, "1").strip().lower() in ("0", "no", "off", "false"):
        return env
    preloaded = [entry for entry in re.split(r"[:\s]+", env.get("LD_PRELOAD", "")) if entry]
    if any(os.path.basename(entry).startswith("libjemalloc") for entry in preloaded):
        return env
    return {**env, "LD_PRELOAD": " ".join([*preloaded, library])}
