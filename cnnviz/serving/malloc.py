"""The server process's allocator: glibc's mmap threshold held at its starting value.

glibc serves a block of at least its mmap threshold (128 KiB at start) with a mapping of its own,
returned to the kernel when freed. But each time such a block is freed, glibc raises the threshold
to that block's size (up to 32 MiB on 64-bit). A server that follows runs sees large blocks come
and go: report lists with a checkpoint's model file in them, figures, the digits. After the
first of those, blocks of up to that size came from the heap arenas of the threads that asked
for them instead, and fragments of them stayed: a replica grew with every run trained on it
(BENCHMARKS.md, issue 24). mallopt(M_MMAP_THRESHOLD) fixes the threshold, as the environment
variable MALLOC_MMAP_THRESHOLD_ does, and with it glibc stops moving it.

Only the server's process: Ray's workers (their training arrays) keep glibc's default.
"""

import ctypes
import os

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
MMAP_THRESHOLD_BYTES = 128 * 2**10  # glibc's own starting value, kept
ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")  # whoever set these decided already


def hold_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold at `threshold` bytes for this process; False where it was not
    (not glibc, or the environment tunes malloc already)."""
    if any(name in os.environ for name in ENVIRONMENT):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1
