"""Errors and warnings in the user's terms: OS errors name the user's path, ignored
options and suspicious input levels are said, not swallowed."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import gain_task
from conftest import tone, write_wav
from mirctl.cli.app import app
from mirctl.errors import UsageError
from mirctl.io.audio import level_flags
from mirctl.io.files import check_output_folder
from mirctl.pipeline import RunOptions, run
from mirctl.pipeline import runner as runner_mod

cli = CliRunner()


def records(res):
    return [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]


def test_a_write_error_names_the_output_not_the_temporary_file(audio_dir, tmp_path, monkeypatch):
    def refused(artifact, path, fmt, audio):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(runner_mod, "write_artifact", refused)
    summary = run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir / "song0.wav"),),
                                                                 out_dir=tmp_path / "out"))
    (rec,) = summary.records
    assert rec["error"] == f"cannot write {tmp_path / 'out' / 'song0.loud.wav'}: permission denied"
    assert ".mirctl-tmp-" not in rec["error"] and rec["hint"].startswith("check the folder's permissions")


def test_output_folder_checks(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "f")
    with pytest.raises(UsageError, match="inside .* which is a file"):
        check_output_folder(tmp_path / "f" / "deeper")
    with pytest.raises(UsageError, match="not writable"):
        check_output_folder(Path("/proc/mirctl"))
    check_output_folder(tmp_path / "new" / "deep")  # not there yet: fine, and nothing is created
    assert not (tmp_path / "new").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_device_is_said_to_be_ignored_by_weight_free_models(sine_wav, tmp_path):
    res = cli.invoke(app, ["separate", str(sine_wav), "--model", "hpss", "--device", "cuda", "-o", str(tmp_path),
                           "--json"])
    assert res.exit_code == 0, res.output
    (rec,) = records(res)
    assert rec["warnings"] == ["--device cuda is ignored: hpss has no neural network and runs on the CPU"]
    assert "warning: --device cuda is ignored" in res.stderr


def test_levels_are_flagged_in_every_audio_command(tmp_path):
    sr = 22050
    wav = tone(440, 1.0, sr)
    loud = wav.copy()
    loud[0, 100] = 2.0 ** 120
    write_wav(tmp_path / "loud.wav", loud, sr, "FLOAT")
    clipped = np.clip(wav * 4, -1, 1)
    write_wav(tmp_path / "clip.wav", clipped, sr)
    write_wav(tmp_path / "fine.wav", wav, sr)
    res = cli.invoke(app, ["info", str(tmp_path / "loud.wav"), str(tmp_path / "clip.wav"), str(tmp_path / "fine.wav"),
                           "--json"])
    by = {Path(r["input"]).stem: r for r in records(res)}
    assert (by["loud"]["result"]["out_of_range"], by["loud"]["result"]["clipped"]) == (True, False)
    assert (by["clip"]["result"]["out_of_range"], by["clip"]["result"]["clipped"]) == (False, True)
    assert (by["fine"]["result"]["out_of_range"], by["fine"]["result"]["clipped"]) == (False, False)
    assert "+722.5 dBFS" in by["loud"]["warnings"][0] and by["fine"]["warnings"] == []
    sep = cli.invoke(app, ["separate", str(tmp_path / "loud.wav"), "--model", "hpss", "-o", str(tmp_path / "o"),
                           "--json"])
    (rec,) = records(sep)
    assert rec["input_audio"] == {"clipped": False, "out_of_range": True, "peak_dbfs": 722.47}
    assert "RuntimeWarning" not in sep.stderr


def test_level_flags_count_runs_across_block_edges():
    wav = np.zeros((2, 1000), np.float32)
    wav[1, 510:513] = -1.0  # three full-scale samples straddling a block edge at 512
    assert level_flags(wav, block=512)["clipped"] is True
    wav[1, 511] = 0.5
    assert level_flags(wav, block=512)["clipped"] is False


def test_a_name_with_a_leading_dash_after_double_dash(tmp_path, monkeypatch):
    write_wav(tmp_path / "-take.wav", tone(440, 0.5, 22050), 22050)
    monkeypatch.chdir(tmp_path)
    res = cli.invoke(app, ["info", "--json", "--", "-take.wav"])
    assert res.exit_code == 0 and records(res)[0]["input"] == "-take.wav"
