"""A small run of benchmarks/fuzz.py: mutated files through every command that takes
files — no traceback, no hang, nothing stray, a record for every input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
def test_small_fuzz_run_is_clean():
    res = subprocess.run([sys.executable, str(REPO / "benchmarks" / "fuzz.py"), "--n", "10", "--seed", "7",
                          "--no-real", "--timeout", "240"], capture_output=True, text=True, timeout=900)
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert {x["command"] for x in lines} == {"info", "separate", "transcribe", "eval transcribe", "eval midi", "render",
                                                 "tag", "classify"}, res.stderr
    for x in lines:
        assert x["files"] == 10 and x["ok"] + x["failed"] == 10, x
        assert (x["tracebacks"], x["hangs"], x["stray_files"], x["missing_records"]) == (0, 0, 0, 0), x
    assert sum(x["failed"] for x in lines) > 0 and sum(x["ok"] for x in lines) > 0  # the mutants bite, not all
    assert res.returncode == 0


def test_the_fuzzer_covers_every_command_that_takes_files():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import fuzz

    from mirctl.tasks import REGISTRY, get_task

    assert set(fuzz.COMMANDS) == {name for name in REGISTRY if get_task(name).shape == "files"}
