"""Memory settings used around demucs (mirctl.backends.malloc): large tensors fault in as huge pages
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
from mirctl.backends.malloc import tune_for_inference
mode = tune_for_inference()
import torch
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    block = torch.ones(64 * 2**20)  # 256 MiB, written through: 65536 pages of 4 KiB
    del block
print(mode, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

HEAP_PROBE = """
import ctypes, ctypes.util, sys
import numpy as np
from mirctl.backends.malloc import lean, release_free_memory, tune_for_inference

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2

def probe():
    block = np.ones(128 * 2**20 // 8)  # 128 MiB: above the largest mmap threshold glibc adapts to (32 MiB)
    mmapped = libc.mallinfo2().hblkhd >> 20
    del block
    kept = libc.mallinfo2().fordblks >> 20  # free MiB still held by the heap
    return f"{mmapped},{kept}"

mode = tune_for_inference()
before = probe()
with lean():
    inside = probe()
after = probe()
release_free_memory()
print(mode, before, inside, after)
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


def mib(pair: str) -> tuple[int, int]:
    mmapped, kept = pair.split(",")
    return int(mmapped), int(kept)


@pytest.mark.skipif(not thp_available(), reason="transparent huge pages are disabled on this machine")
@pytest.mark.parametrize("mode", [None, "lean"])
def test_large_tensors_fault_in_as_huge_pages(mode):
    chosen, faults = run_probe(TORCH_PROBE, mode)
    assert chosen == (mode or "auto")
    assert int(faults) < 3 * 65536 // 8  # 4 KiB pages would be 3 x 65536 faults


def test_system_mode_leaves_torch_and_glibc_alone():
    chosen, faults = run_probe(TORCH_PROBE, "system")
    assert chosen == "system"
    assert int(faults) > 3 * 65536 * 0.9  # every tensor faulted in page by page
    chosen, *phases = run_probe(HEAP_PROBE, "system")
    for mmapped, kept in map(mib, phases):
        assert mmapped >= 128 and kept < 128  # glibc's default: big blocks are private mmaps


def test_auto_mode_reuses_heap_memory_except_inside_lean():
    chosen, before, inside, after = run_probe(HEAP_PROBE, None)
    assert chosen == "auto"
    for mmapped, kept in (mib(before), mib(after)):
        assert mmapped < 128  # the 128 MiB block was not a private mmap...
        assert kept >= 128  # ...and once freed it waits in the heap for the next segment
    mmapped, kept = mib(inside)
    assert mmapped >= 128 and kept < 128  # lean: mmapped, and unmapped on free


def test_lean_mode_never_keeps_freed_memory():
    chosen, *phases = run_probe(HEAP_PROBE, "lean")
    assert chosen == "lean"
    for mmapped, kept in map(mib, phases):
        assert mmapped >= 128 and kept < 128


def test_unknown_mode_is_a_usage_error_naming_the_choices(monkeypatch):
    from mirctl.backends import malloc as heap
    from mirctl.errors import UsageError

    monkeypatch.setenv("MIRCTL_MALLOC", "turbo")
    with pytest.raises(UsageError, match="auto, lean, system"):
        heap.mode()
    monkeypatch.setenv("MIRCTL_MALLOC", "")
    assert heap.mode() == "auto"


def test_lean_is_a_no_op_where_reuse_was_never_turned_on(monkeypatch):
    from mirctl.backends import malloc as heap

    calls = []
    monkeypatch.setattr(heap, "_set", lambda settings: calls.append(settings) or True)
    monkeypatch.setattr(heap, "_reusing", False)
    with heap.lean():
        pass
    assert calls == []  # hpss/repet (no tune_for_inference) keep glibc's settings
