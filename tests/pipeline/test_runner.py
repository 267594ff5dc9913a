from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import gain_task
from mirctl.errors import UsageError
from mirctl.pipeline import RunOptions, run
from mirctl.pipeline import runner as runner_mod


def go(inputs, out, params=None, **kw):
    opts = RunOptions(inputs=tuple(str(i) for i in inputs), out_dir=out, **kw)
    return run(gain_task.TASK, params or gain_task.Params(), opts)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_outputs_written_with_real_content(audio_dir, tmp_path):
    out = tmp_path / "out"
    summary = go([audio_dir], out)
    assert summary.exit_code == 0 and summary.count("ok") == 3
    assert files_under(out) == sorted(f"song{i}.{k}.wav" for i in range(3) for k in ("loud", "quiet"))
    src, _ = sf.read(audio_dir / "song0.wav")
    quiet, _ = sf.read(out / "song0.quiet.wav")
    assert np.allclose(quiet, src * 0.5, atol=1e-4)


def test_rerun_skips_and_overwrite_redoes(audio_dir, tmp_path):
    out = tmp_path / "out"
    go([audio_dir], out)
    before = (out / "song0.loud.wav").stat().st_mtime_ns
    again = go([audio_dir], out)
    assert [r["status"] for r in again.records] == ["skipped"] * 3 and again.exit_code == 0
    assert (out / "song0.loud.wav").stat().st_mtime_ns == before
    redo = go([audio_dir], out, overwrite=True)
    assert [r["status"] for r in redo.records] == ["ok"] * 3


def test_model_not_loaded_when_everything_is_skipped(audio_dir, tmp_path):
    out = tmp_path / "out"
    go([audio_dir], out)
    gain_task.LOADS.clear()
    go([audio_dir], out)
    assert gain_task.LOADS == []


def test_one_bad_file_does_not_stop_the_batch(audio_dir, tmp_path):
    (audio_dir / "broken.wav").write_bytes(b"RIFF....not really a wav")
    summary = go([audio_dir, tmp_path / "missing.wav"], tmp_path / "out", params=gain_task.Params(crash_on="song2"))
    status = {Path(r["input"]).name: r["status"] for r in summary.records}
    assert status == {"broken.wav": "failed", "missing.wav": "failed", "song0.wav": "ok", "song1.wav": "ok",
                      "song2.wav": "failed"}
    errors = {Path(r["input"]).name: r["error"] for r in summary.records}
    assert "not readable audio" in errors["broken.wav"]
    assert errors["song2.wav"] == "ZeroDivisionError: boom"
    assert all("\n" not in (r["error"] or "") for r in summary.records)
    assert summary.exit_code == 1


def test_fail_fast_stops(audio_dir, tmp_path):
    summary = go([audio_dir], tmp_path / "out", params=gain_task.Params(fail_on="song0"), fail_fast=True)
    assert [r["status"] for r in summary.records] == ["failed"]
    assert summary.not_run == 2 and summary.exit_code == 1


def test_model_loaded_once_per_process(audio_dir, tmp_path):
    gain_task.LOADS.clear()
    summary = go([audio_dir], tmp_path / "out")
    assert len(gain_task.LOADS) == 1
    assert {r["result"]["loads_in_process"] for r in summary.records} == {1}


def test_atomic_writes_under_injected_failure(audio_dir, tmp_path, monkeypatch):
    """The second output of an input fails to write: neither output nor any temp file remains."""
    real = runner_mod.write_artifact
    calls = {"n": 0}

    def flaky(artifact, path, fmt, audio):
        calls["n"] += 1
        real(artifact, path, fmt, audio)  # the temp file now exists on disk...
        if calls["n"] == 2:
            raise OSError("disk full (injected)")

    monkeypatch.setattr(runner_mod, "write_artifact", flaky)
    out = tmp_path / "out"
    summary = go([audio_dir / "song0.wav", audio_dir / "song1.wav"], out)
    assert [r["status"] for r in summary.records] == ["failed", "ok"]
    assert "disk full" in summary.records[0]["error"]
    assert files_under(out) == ["song1.loud.wav", "song1.quiet.wav"]


def test_ctrl_c_leaves_no_partial_file(audio_dir, tmp_path, monkeypatch):
    real = runner_mod.write_artifact

    def interrupted(artifact, path, fmt, audio):
        real(artifact, path, fmt, audio)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner_mod, "write_artifact", interrupted)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        go([audio_dir], out)
    assert files_under(out) == []


def test_report_file_matches_records(audio_dir, tmp_path):
    report = tmp_path / "r" / "report.jsonl"
    summary = go([audio_dir], tmp_path / "out", report=report)
    lines = [json.loads(x) for x in report.read_text().splitlines()]
    assert lines == json.loads(json.dumps(summary.records))
    for rec in lines:
        assert set(rec) >= {"input", "outputs", "status", "error", "seconds", "model", "command", "params", "result"}
        assert rec["model"] == {"name": "gain", "sha256": "0" * 64}


def test_unknown_template_field_raises_before_work(audio_dir, tmp_path):
    gain_task.LOADS.clear()
    with pytest.raises(UsageError):
        go([audio_dir], tmp_path / "out", filename="{track}.{stem}.wav")
    assert gain_task.LOADS == [] and not (tmp_path / "out").exists()


def test_no_inputs_is_usage_error(tmp_path):
    with pytest.raises(UsageError):
        go([], tmp_path / "out")


def test_jobs_two_matches_serial_and_loads_once_per_worker(audio_dir, tmp_path):
    serial = go([audio_dir], tmp_path / "serial")
    parallel = go([audio_dir], tmp_path / "parallel", jobs=2)
    assert sorted(r["status"] for r in parallel.records) == ["ok"] * 3
    for name in ("song0.loud.wav", "song2.quiet.wav"):
        a, _ = sf.read(tmp_path / "serial" / name)
        b, _ = sf.read(tmp_path / "parallel" / name)
        assert np.array_equal(a, b)
    pids = {r["result"]["pid"] for r in parallel.records}
    assert 1 <= len(pids) <= 2
    assert {r["result"]["loads_in_process"] for r in parallel.records} == {1}
    assert serial.records[0]["result"]["pid"] not in pids


def test_jobs_two_isolates_failures(audio_dir, tmp_path):
    summary = go([audio_dir], tmp_path / "out", params=gain_task.Params(crash_on="song1"), jobs=2)
    assert sorted(r["status"] for r in summary.records) == ["failed", "ok", "ok"]
    assert summary.exit_code == 1


def test_a_worker_that_dies_fails_its_input_alone_and_is_replaced(audio_dir, tmp_path):
    out = tmp_path / "out"
    summary = go([audio_dir], out, params=gain_task.Params(die_on="song0"), jobs=2)
    status = {Path(r["input"]).name: r for r in summary.records}
    assert status["song0.wav"]["status"] == "failed"
    assert "ended unexpectedly (killed by signal 9)" in status["song0.wav"]["error"]
    assert status["song0.wav"]["command"] == "gain" and status["song0.wav"]["hint"] == "out of memory is the usual cause: try fewer --jobs"
    assert status["song0.wav"]["params"] == {"fail_on": "", "crash_on": "", "die_on": "song0", "model_missing": False}
    assert status["song0.wav"]["model"] == {"name": "gain"}
    assert [status[f"song{i}.wav"]["status"] for i in (1, 2)] == ["ok", "ok"]
    assert summary.exit_code == 1 and files_under(out) == sorted(
        f"song{i}.{k}.wav" for i in (1, 2) for k in ("loud", "quiet"))


def test_record_values_for_ok_skipped_and_failed_inputs(audio_dir, tmp_path):
    out = tmp_path / "out"
    first = go([audio_dir / "song0.wav", tmp_path / "missing.wav"], out)
    ok, missing = sorted(first.records, key=lambda r: r["input"] == str(tmp_path / "missing.wav"))
    assert ok["status"] == "ok" and ok["error"] is None and ok["hint"] is None and ok["warnings"] == []
    assert ok["outputs"] == [str(out / "song0.loud.wav"), str(out / "song0.quiet.wav")]
    assert 0 < ok["seconds"] < 60 and ok["command"] == "gain" and ok["params"] == {"fail_on": "", "crash_on": "", "model_missing": False,
                                                                                  "die_on": ""}
    assert ok["result"] == {"pid": os.getpid(), "loads_in_process": ok["result"]["loads_in_process"], "frames": 22050}
    assert ok["input_audio"] == {"clipped": False, "out_of_range": False, "peak_dbfs": -6.02}
    assert missing["status"] == "failed" and missing["outputs"] == [] and missing["seconds"] == 0.0
    assert missing["error"] == f"{tmp_path / 'missing.wav'} does not exist"
    assert missing["hint"] == "check the path (quote names with spaces)"
    again = go([audio_dir / "song0.wav"], out)
    (skipped,) = again.records
    assert skipped["status"] == "skipped" and skipped["seconds"] == 0.0 and skipped["outputs"] == ok["outputs"]
    assert skipped["error"] is None and skipped["result"] == {}
    keys = {"input", "status", "outputs", "error", "hint", "seconds", "command", "model", "params", "result", "warnings"}
    assert set(missing) == set(skipped) == keys and set(ok) == keys | {"input_audio"}  # the same fields, always
    assert missing["model"] == skipped["model"] == {"name": "gain"}  # refused or skipped: no model was loaded
    assert ok["model"] == {"name": "gain", "sha256": "0" * 64}  # the loaded model's own report entry
    assert skipped["params"] == missing["params"] == ok["params"] and skipped["warnings"] == missing["warnings"] == []
