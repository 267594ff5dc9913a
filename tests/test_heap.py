"""Memory settings used around demucs (mirctl.heap): large tensors fault in as huge pages
or are reused from the heap, instead of being faulted in 4 KiB at a time per segment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="THP and glibc settings are Linux-only")

TORCH_PROBE = """
import resource
from mirctl.heap import tune_for_inference
mode = tune_for_inference()
import torch
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    block = torch.ones(64 * 2**20)  # 256 MiB, written through: 65536 pages of 4 KiB
    del block
print(mode, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

HEAP_PROBE = """
import ctypes, ctypes.util
import numpy as np
from mirctl.heap import tune_for_inference, release_free_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2
mode = tune_for_inference()
block = np.ones(128 * 2**20 // 8)  # 128 MiB: above the largest mmap threshold glibc adapts to (32 MiB)
mmapped = libc.mallinfo2().hblkhd
del block
kept = libc.mallinfo2().fordblks  # free bytes still held by the heap
release_free_memory()
print(mode, mmapped >> 20, kept >> 20)
"""


def run_probe(code: str, mode: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MIRCTL_MALLOC", "THP_MEM_ALLOC_ENABLE")}
    if mode is not None:
        env["MIRCTL_MALLOC"] = mode
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode != 0 and "mallinfo2" in out.stderr:
        pytest.skip("this libc has no mallinfo2 to look inside the heap")
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def thp_available() -> bool:
    path = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return path.exists() and "[never]" not in path.read_text()


@pytest.mark.skipif(not thp_available(), reason="transparent huge pages are disabled on this machine")
def test_default_mode_faults_large_tensors_in_as_huge_pages():
    mode, faults = run_probe(TORCH_PROBE, None)
    assert mode == "hugepages"
    assert int(faults) < 3 * 65536 // 8  # 4 KiB pages would be 3 x 65536 faults; 2 MiB pages ~400


def test_system_mode_leaves_torch_and_glibc_alone():
    mode, faults = run_probe(TORCH_PROBE, "system")
    assert mode == "system"
    assert int(faults) > 3 * 65536 * 0.9  # every tensor faulted in page by page
    mode, mmapped_mb, kept_mb = run_probe(HEAP_PROBE, "system")
    assert int(mmapped_mb) >= 128 and int(kept_mb) < 128  # glibc's default: big blocks are private mmaps


def test_keep_mode_serves_large_blocks_from_the_heap_and_keeps_them():
    mode, mmapped_mb, kept_mb = run_probe(HEAP_PROBE, "keep")
    assert mode == "keep"
    assert int(mmapped_mb) < 128  # the 128 MiB block was not a private mmap...
    assert int(kept_mb) >= 128  # ...and once freed it waits in the heap for the next segment


def test_unknown_mode_is_a_usage_error_naming_the_choices(monkeypatch):
    from mirctl import heap
    from mirctl.errors import UsageError

    monkeypatch.setenv("MIRCTL_MALLOC", "turbo")
    with pytest.raises(UsageError, match="hugepages, keep, system"):
        heap.mode()
    monkeypatch.setenv("MIRCTL_MALLOC", "")
    assert heap.mode() == "hugepages"
