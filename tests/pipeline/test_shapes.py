"""The runner's stem-set and generated-item shapes, through fake tasks (shape_tasks.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import shape_tasks
from conftest import tone, write_wav
from mirctl.errors import UsageError
from mirctl.pipeline import RunOptions, run


def go(task, params, out, inputs=(), **kw):
    return run(task, params, RunOptions(inputs=tuple(str(i) for i in inputs), out_dir=out, **kw))


def stem_folder(folder: Path, freqs=(220, 330), sr=shape_tasks.SR, n=800) -> Path:
    for i, f in enumerate(freqs):
        write_wav(folder / f"stem{i}.wav", tone(f, n / sr, sr), sr, subtype="FLOAT")
    return folder


# --- stem sets ---------------------------------------------------------------------------


def test_a_folder_of_stems_is_one_input_and_its_name_is_the_track(tmp_path):
    song = stem_folder(tmp_path / "songA")
    summary = go(shape_tasks.SUM, shape_tasks.SumParams(), tmp_path / "out", [song])
    (rec,) = summary.records
    assert rec["status"] == "ok" and rec["input"] == str(song)
    assert rec["result"]["stems"] == ["stem0", "stem1"]
    out, sr = sf.read(tmp_path / "out" / "songA.wav", always_2d=True)
    expected = tone(220, 0.1, sr)[0] + tone(330, 0.1, sr)[0]
    assert sr == shape_tasks.SR and np.allclose(out[:, 0], expected, atol=1e-6)


def test_recursive_finds_every_stem_folder_in_separate_s_layout(tmp_path):
    root = tmp_path / "stems"
    for track in ("a", "b"):
        stem_folder(root / "htdemucs" / track)
    (root / "README.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "README.txt").write_text("not audio")
    summary = go(shape_tasks.SUM, shape_tasks.SumParams(), tmp_path / "out", [root], recursive=True,
                 filename="{reldir}/{track}.{ext}")
    assert [Path(r["input"]).name for r in summary.records] == ["a", "b"]
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.wav")) == \
        ["htdemucs/a.wav", "htdemucs/b.wav"]


def test_a_root_without_stems_says_to_recurse(tmp_path):
    stem_folder(tmp_path / "root" / "song")
    summary = go(shape_tasks.SUM, shape_tasks.SumParams(), tmp_path / "out", [tmp_path / "root"])
    (rec,) = summary.records
    assert rec["status"] == "failed" and "holds no audio stems" in rec["error"]
    assert rec["hint"] == "add --recursive to take every stem folder below it"


def test_named_stems_form_one_set(tmp_path):
    song = stem_folder(tmp_path / "take")
    summary = go(shape_tasks.SUM, shape_tasks.SumParams(), tmp_path / "out",
                 stems=(str(song / "stem1.wav"), str(song / "stem0.wav")))
    (rec,) = summary.records
    assert rec["status"] == "ok" and rec["result"]["stems"] == ["stem0", "stem1"]
    assert (tmp_path / "out" / "take.wav").is_file()


def test_one_unreadable_stem_fails_its_set_alone_and_names_the_stem(tmp_path):
    good = stem_folder(tmp_path / "good")
    bad = stem_folder(tmp_path / "bad")
    (bad / "stem1.wav").write_bytes(b"RIFF....broken")
    summary = go(shape_tasks.SUM, shape_tasks.SumParams(), tmp_path / "out", [bad, good])
    status = {Path(r["input"]).name: r for r in summary.records}
    assert status["good"]["status"] == "ok"
    assert status["bad"]["status"] == "failed" and str(bad / "stem1.wav") in status["bad"]["error"]
    assert not (tmp_path / "out" / "bad.wav").exists() and summary.exit_code == 1


def test_a_file_given_to_a_stem_set_command_is_a_clear_failure(tmp_path):
    song = stem_folder(tmp_path / "song")
    summary = go(shape_tasks.SUM, shape_tasks.SumParams(), tmp_path / "out", [song / "stem0.wav"])
    (rec,) = summary.records
    assert rec["status"] == "failed" and "takes folders of stems" in rec["error"]
    assert "--stems" in rec["hint"]


def test_stem_sets_skip_resume_and_the_write_options_travel_with_the_slot(tmp_path):
    song = stem_folder(tmp_path / "song")
    go(shape_tasks.SUM, shape_tasks.SumParams(bits="16"), tmp_path / "out", [song])
    assert sf.info(str(tmp_path / "out" / "song.wav")).subtype == "PCM_16"
    again = go(shape_tasks.SUM, shape_tasks.SumParams(), tmp_path / "out", [song])
    assert [r["status"] for r in again.records] == ["skipped"]
    redo = go(shape_tasks.SUM, shape_tasks.SumParams(bits="32f"), tmp_path / "out", [song], overwrite=True)
    assert [r["status"] for r in redo.records] == ["ok"]
    assert sf.info(str(tmp_path / "out" / "song.wav")).subtype == "FLOAT"


def test_stem_sets_in_worker_processes(tmp_path):
    folders = [stem_folder(tmp_path / f"s{i}") for i in range(3)]
    summary = go(shape_tasks.SUM, shape_tasks.SumParams(), tmp_path / "out", folders, jobs=2)
    assert summary.count("ok") == 3
    import os

    assert os.getpid() not in {r["result"]["pid"] for r in summary.records}


# --- generated items -------------------------------------------------------------------


def test_n_items_are_planned_named_and_generated(tmp_path):
    summary = go(shape_tasks.TONE, shape_tasks.ToneParams(), tmp_path / "out", count=3)
    assert [r["input"] for r in summary.records] == ["000", "001", "002"]
    assert [r["result"]["index"] for r in summary.records] == [0, 1, 2]
    for i in range(3):
        wav, sr = sf.read(tmp_path / "out" / f"00{i}.wav")
        spectrum = np.abs(np.fft.rfft(wav))
        assert abs(np.argmax(spectrum) * sr / len(wav) - shape_tasks.tone_hz(i)) < sr / len(wav)


def test_generated_items_skip_resume_and_shard(tmp_path):
    out = tmp_path / "out"
    go(shape_tasks.TONE, shape_tasks.ToneParams(), out, count=4)
    (out / "002.wav").unlink()
    again = go(shape_tasks.TONE, shape_tasks.ToneParams(), out, count=4)
    assert [(r["input"], r["status"]) for r in again.records] == \
        [("000", "skipped"), ("001", "skipped"), ("003", "skipped"), ("002", "ok")]
    shard = go(shape_tasks.TONE, shape_tasks.ToneParams(), tmp_path / "s", count=5, shard="2/2")
    assert [(r["input"], r["result"]["index"]) for r in shard.records] == [("001", 1), ("003", 3)]


def test_names_and_width(tmp_path):
    named = go(shape_tasks.TONE, shape_tasks.ToneParams(), tmp_path / "a", names=("intro", "verse"))
    assert [r["input"] for r in named.records] == ["intro", "verse"]
    assert (tmp_path / "a" / "verse.wav").is_file()
    many = go(shape_tasks.TONE, shape_tasks.ToneParams(seconds=0.01), tmp_path / "b", count=1001, shard="1/1000")
    assert [r["input"] for r in many.records] == ["0000", "1000"]


@pytest.mark.parametrize("kw", [{}, {"count": 0}, {"names": ("a", "a")}, {"names": ("x/y",)}])
def test_nothing_or_bad_names_to_generate_is_a_usage_error(tmp_path, kw):
    with pytest.raises(UsageError):
        go(shape_tasks.TONE, shape_tasks.ToneParams(), tmp_path / "out", **kw)


def test_input_files_make_one_item_each_and_cannot_mix_with_n(tmp_path, midi_file):
    summary = go(shape_tasks.TONE, shape_tasks.ToneParams(), tmp_path / "out", [midi_file])
    (rec,) = summary.records
    assert rec["status"] == "ok" and rec["result"]["prompt_pitch"] == 60 and (tmp_path / "out" / "tune.wav").is_file()
    with pytest.raises(UsageError, match="not both"):
        go(shape_tasks.TONE, shape_tasks.ToneParams(), tmp_path / "out", [midi_file], count=2)


def test_generated_items_in_worker_processes(tmp_path):
    summary = go(shape_tasks.TONE, shape_tasks.ToneParams(), tmp_path / "out", count=4, jobs=2)
    assert sorted(r["input"] for r in summary.records) == ["000", "001", "002", "003"]
    assert all(r["status"] == "ok" for r in summary.records)


def test_a_file_task_refuses_the_other_shapes_options(audio_dir, tmp_path):
    import gain_task

    with pytest.raises(UsageError, match="takes input files"):
        go(gain_task.TASK, gain_task.Params(), tmp_path / "out", [audio_dir], count=3)


def test_audio_seconds_sums_finished_inputs_to_two_places():
    from mirctl.pipeline.task import audio_seconds

    records = [{"status": "ok", "result": {"duration_s": 1.234}}, {"status": "ok", "result": {"duration_s": 2.0011}},
               {"status": "ok", "result": {}}, {"status": "failed", "result": None}]
    assert audio_seconds(records) == {"audio_s": 3.24}
