"""The server's allocator (cnnviz.serving.malloc): large blocks stay mappings of their own after
a larger one was freed, so freeing them gives their memory back."""

import os
import subprocess
import sys

import pytest

from cnnviz.serving import malloc

# After an 8 MiB block is freed, is a 1 MiB block its own mapping (glibc's mallinfo2: hblkhd,
# the bytes in mappings) or carved from the heap? argv[1] "held": hold_mmap_threshold() first.
PROBE = """
import ctypes, sys
from cnnviz.serving import malloc

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
if sys.argv[1] == "held":
    assert malloc.hold_mmap_threshold()
big = bytearray(8 * 2**20)
del big  # glibc's default raises its threshold to 8 MiB here
before = libc.mallinfo2().hblkhd
block = bytearray(2**20)
print(libc.mallinfo2().hblkhd - before >= 2**20)
"""


def mapped(mode: str) -> bool:
    env = {name: value for name, value in os.environ.items() if name not in malloc.ENVIRONMENT}
    done = subprocess.run([sys.executable, "-c", PROBE, mode], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout.strip() == "True"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_held_threshold_keeps_large_blocks_mapped_after_a_larger_one_was_freed():
    assert not mapped("default")  # glibc's moving threshold: the block came from the heap
    assert mapped("held")


def test_a_malloc_tuned_by_the_environment_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert not malloc.hold_mmap_threshold()


def test_the_server_holds_the_threshold_before_streamlit_starts(monkeypatch):
    from cnnviz.serving import boot

    calls = []
    monkeypatch.setattr(malloc, "hold_mmap_threshold", lambda: calls.append("malloc"))
    monkeypatch.setattr(boot.runpy, "run_module", lambda *args, **kwargs: calls.append("run"))
    monkeypatch.setattr(boot, "preload_once_served", lambda argv: None)
    boot.main()
    assert calls == ["malloc", "run"]
