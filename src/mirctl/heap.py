"""glibc heap settings for repeated large-tensor inference on the CPU.

A demucs forward pass allocates and frees gigabytes of activations. With glibc's
defaults every block over the (dynamic) mmap threshold is a fresh ``mmap`` and every
free hands it straight back, so the next segment page-faults the same memory in
again: about 1.2 million minor faults and 40 % of the wall time per htdemucs segment
on a 2-core machine. :func:`keep_freed_memory` makes large blocks come from the heap
and keeps freed heap memory for reuse; :func:`release_free_memory` gives it back
explicitly once the model is done. Both are no-ops where there is no glibc.

``MIRCTL_MALLOC=system`` leaves glibc's settings alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import lru_cache
from typing import Any

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# blocks up to 1 GiB come from the heap; larger ones (a whole long song) are still mmapped
HEAP_BLOCK_LIMIT = 1 << 30
NEVER_TRIM = (1 << 31) - 1


@lru_cache(maxsize=1)
def _libc() -> Any | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def keep_freed_memory() -> bool:
    """Serve large blocks from the heap and stop trimming it; True when applied."""
    libc = _libc()
    if libc is None or os.environ.get("MIRCTL_MALLOC", "").lower() == "system":
        return False
    ok = libc.mallopt(M_MMAP_THRESHOLD, ctypes.c_int(HEAP_BLOCK_LIMIT))
    ok &= libc.mallopt(M_TRIM_THRESHOLD, ctypes.c_int(NEVER_TRIM))
    return bool(ok)


def release_free_memory() -> None:
    """Ask glibc to hand freed heap pages back to the OS."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
