"""Ctrl-C (SIGINT to the whole process group, as a terminal sends it) on a real batch:
prompt exit 130, no traceback, no process left, nothing partial, every finished input
reported, and the same command then finishes the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import write_wav

pytestmark = pytest.mark.slow
# Python keeps SIGINT ignored when it starts with it ignored (as under nohup, where Ctrl-C
# must do nothing); a terminal starts programs with the default, which is what is tested
# here, whatever the test worker that spawns the command has inherited.
RUN = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
       "sys.argv = ['mirctl'] + sys.argv[1:]; from mirctl.cli import main; main()")


def make_batch(folder: Path, n: int = 6, seconds: float = 12.0, sr: int = 44100) -> Path:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    for i in range(n):
        wav = 0.2 * np.sin(2 * np.pi * (220 + 30 * i) * t) + 0.05 * rng.standard_normal(t.size)
        write_wav(folder / f"song{i}.wav", np.stack([wav, wav]), sr)
    return folder


def start(songs: Path, out: Path, report: Path, jobs: int) -> subprocess.Popen:
    cmd = [sys.executable, "-c", RUN, "separate", str(songs), "--model", "hpss", "-o", str(out), "--jobs", str(jobs),
           "--report", str(report), "--json"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "MIRCTL_OFFLINE": "1"})


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")  # a zombie has exited


@pytest.mark.parametrize("jobs, presses", [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_ctrl_c_stops_promptly_cleanly_and_resumes(tmp_path, jobs, presses):
    songs, out, report = make_batch(tmp_path / "songs"), tmp_path / "out", tmp_path / "report.jsonl"
    proc = start(songs, out, report, jobs)
    first = json.loads(proc.stdout.readline())  # one input has finished: the batch is under way
    assert first["status"] == "ok"
    workers = children(proc.pid) if jobs > 1 else []
    assert len(workers) >= (1 if jobs > 1 else 0)
    sent = time.monotonic()
    for k in range(presses):
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.2 if k + 1 < presses else 0)
    rest, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert took < 3.0, f"took {took:.1f} s to stop"
    assert "Traceback" not in err and "interrupted" in err
    left = {p: Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ")[:200] for p in workers if alive(p)}
    assert not left, f"a process outlived the run: {left}"
    assert not [p for p in out.rglob("*") if ".mirctl-tmp-" in p.name], "a temporary file was left"
    reported = [first] + [json.loads(x) for x in rest.splitlines()]
    assert [json.loads(x) for x in report.read_text().splitlines()] == reported
    finished = {Path(r["input"]).stem for r in reported if r["status"] == "ok"}
    on_disk = {p.name for p in (out / "hpss").iterdir() if any(p.iterdir())} if (out / "hpss").exists() else set()
    assert on_disk == finished, "an input has outputs but no record, or the other way round"
    for r in reported:
        assert all(Path(o).is_file() for o in r["outputs"])
        for d in (out / "hpss").iterdir():
            assert sorted(f.name for f in d.iterdir()) in ([], ["harmonic.wav", "percussive.wav"])
    assert len(finished) < 6, "nothing was left to interrupt"

    again = subprocess.run([sys.executable, "-c", RUN, "separate", str(songs), "--model", "hpss", "-o", str(out),
                            "--jobs", str(jobs), "--json"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    status = {Path(r["input"]).stem: r["status"] for r in map(json.loads, again.stdout.splitlines())}
    assert {k for k, v in status.items() if v == "skipped"} == finished
    assert {k for k, v in status.items() if v == "ok"} == {f"song{i}" for i in range(6)} - finished
