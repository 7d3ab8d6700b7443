"""numpy's OpenBLAS thread count, set at run time.

cnnviz.ops multiplies cache-sized blocks: small products that a second OpenBLAS thread does not
speed up. On a 2-core machine shared with TensorFlow's thread pool or other processes, that second
thread spins and can make a LeNet-5 training step many times slower (BENCHMARKS.md, train).
"""

import ctypes

BLAS_THREAD_FUNCTIONS = (  # (get, set) in the OpenBLAS builds numpy ships or links
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)


def limit_blas_threads(n: int):
    """Set numpy's OpenBLAS to n threads (process-wide); returns a function that restores the old
    count.

    No-op without OpenBLAS.
    """
    try:
        with open("/proc/self/maps") as maps:
            path = next(line.split()[-1] for line in maps if "openblas" in line.lower())
        library = ctypes.CDLL(path)
        get, set_ = next((getattr(library, g), getattr(library, s))
                         for g, s in BLAS_THREAD_FUNCTIONS if hasattr(library, g))
    except (OSError, StopIteration):
        return lambda: None
    previous = get()
    set_(n)
    return lambda: set_(previous)
