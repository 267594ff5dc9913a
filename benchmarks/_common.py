"""Helpers shared by the benchmark scripts (not collected by pytest)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".bench"


def run_measured(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, int]:
    """Run ``cmd``; return (wall seconds, peak RSS of the process tree's largest child in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{err[-2000:]}")
    return wall, usage.ru_maxrss // 1024


def median_of(n: int, cmd: list[str], **kw) -> float:
    return statistics.median(run_measured(cmd, **kw)[0] for _ in range(n))


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), for the conditions a figure was measured under."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    import importlib.metadata as md

    versions = {}
    for pkg in ("mirctl", "torch", "demucs", "onnxruntime", "basic-pitch", "numpy"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return {"python": platform.python_version(), "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "versions": versions}


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def compile_sources() -> None:
    """Byte-compile mirctl's sources as ``pip install`` would: an editable checkout has no
    .pyc files, and with PYTHONDONTWRITEBYTECODE set every run would compile them again."""
    import compileall

    compileall.compile_dir(str(REPO / "src" / "mirctl"), quiet=1)


def mirctl_cmd(*args: str) -> list[str]:
    """The ``mirctl`` console script users type (``python -m mirctl`` where it is not installed)."""
    script = Path(sys.executable).with_name("mirctl")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "mirctl", *args]
