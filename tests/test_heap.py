"""The glibc heap settings used around demucs: freed blocks are reused, not faulted in again."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc heap settings are Linux-only")

PROBE = """
import ctypes, ctypes.util
import numpy as np
from mirctl.heap import keep_freed_memory, release_free_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2
applied = keep_freed_memory()
block = np.ones(128 * 2**20 // 8)  # 128 MiB: above the largest mmap threshold glibc adapts to (32 MiB)
mmapped = libc.mallinfo2().hblkhd
del block
kept = libc.mallinfo2().fordblks  # free bytes still held by the heap
release_free_memory()
print(int(applied), mmapped >> 20, kept >> 20)
"""


def probe(env_value: str | None) -> tuple[bool, int, int]:
    env = {k: v for k, v in os.environ.items() if k != "MIRCTL_MALLOC"}
    if env_value is not None:
        env["MIRCTL_MALLOC"] = env_value
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env)
    if out.returncode != 0 and "mallinfo2" in out.stderr:
        pytest.skip("this libc has no mallinfo2 to look inside the heap")
    assert out.returncode == 0, out.stderr
    applied, mmapped_mb, kept_mb = out.stdout.split()
    return applied == "1", int(mmapped_mb), int(kept_mb)


def test_large_blocks_come_from_the_heap_and_stay_there():
    applied, mmapped_mb, kept_mb = probe(None)
    if not applied:
        pytest.skip("this libc refused the mallopt settings")
    assert mmapped_mb < 128  # the 128 MiB block was not a private mmap...
    assert kept_mb >= 128  # ...and once freed it waits in the heap for the next segment


def test_system_setting_leaves_glibc_defaults():
    applied, mmapped_mb, kept_mb = probe("system")
    assert not applied
    assert mmapped_mb >= 128  # glibc's default: a block this large is mmapped and unmapped on free
    assert kept_mb < 128
