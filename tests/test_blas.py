"""cnnviz.nn.blas: OpenBLAS' thread count is set and restored."""

import ctypes

import numpy as np

from cnnviz.nn import blas


def openblas_get_num_threads():
    """OpenBLAS' own getter, or None when numpy links another BLAS."""
    np.ones((2, 2)) @ np.ones((2, 2))  # the BLAS library is loaded by now
    with open("/proc/self/maps") as maps:
        paths = [line.split()[-1] for line in maps if "openblas" in line.lower()]
    if not paths:
        return None
    library = ctypes.CDLL(paths[0])
    return next(getattr(library, g) for g, _ in blas.BLAS_THREAD_FUNCTIONS if hasattr(library, g))


def test_limit_blas_threads_sets_and_restores():
    get = openblas_get_num_threads()
    before = get() if get else None
    restore = blas.limit_blas_threads(1)
    if get:  # numpy wheels ship OpenBLAS; another BLAS makes the limit a documented no-op
        assert get() == 1
    restore()
    assert (get() if get else None) == before
