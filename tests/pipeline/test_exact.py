"""Exact messages, hints and tables of the runner: what a user reads must not drift
silently (found by mutation testing: these survived when only keys were checked)."""

from __future__ import annotations

import csv
import errno
import os
from pathlib import Path

import pytest

import gain_task
import shape_tasks
from conftest import write_wav, tone
from mirctl.errors import InputError, ModelError, UsageError
from mirctl.io.files import plain, write_error
from mirctl.pipeline import RunOptions, run
from mirctl.pipeline.inputs import parse_shard
from mirctl.pipeline.runner import Interrupted, RunSummary, _fatal_from
from mirctl.pipeline.sources import read_stem_set
from mirctl.pipeline.spec import InputItem
from mirctl.pipeline.task import Task, find_task, import_ref


@pytest.mark.parametrize("text, message, hint", [
    ("x", "--shard expects I/N such as 1/4, got 'x'", None),
    ("1/2/3", "--shard expects I/N such as 1/4, got '1/2/3'", None),
    ("0/4", "--shard 0/4: I must be between 1 and N",
     "shards count from 1: 1/4, 2/4, 3/4, 4/4 (with a 0-based SLURM id use $((ID+1))/N)"),
    ("5/4", "--shard 5/4: I must be between 1 and N",
     "shards count from 1: 1/4, 2/4, 3/4, 4/4 (with a 0-based SLURM id use $((ID+1))/N)"),
    ("1/0", "--shard 1/0: I must be between 1 and N",
     "shards count from 1: 1/4, 2/4, 3/4, 4/4 (with a 0-based SLURM id use $((ID+1))/N)"),
])
def test_shard_errors(text, message, hint):
    with pytest.raises(UsageError) as err:
        parse_shard(text)
    assert (err.value.message, err.value.hint) == (message, hint)
    assert parse_shard("4/4") == (4, 4) and parse_shard("1/1") == (1, 1)


@pytest.mark.parametrize("task, hint", [
    (gain_task.TASK, "e.g. mirctl gain song.wav, a folder, or '-' for stdin"),
    (shape_tasks.SUM, "e.g. mirctl sum stems_folder/, -r root/, or --stems a.wav b.wav"),
])
def test_no_inputs_says_what_to_give(task, hint, tmp_path):
    with pytest.raises(UsageError) as err:
        run(task, task_params(task), RunOptions(inputs=(), out_dir=tmp_path))
    assert (err.value.message, err.value.hint) == ("no inputs given", hint)


def task_params(task):
    return {"gain": gain_task.Params(), "sum": shape_tasks.SumParams()}[task.name]


def test_stem_set_errors_name_the_set_and_the_stem(tmp_path):
    with pytest.raises(InputError) as err:
        read_stem_set(InputItem(tmp_path, kind="stems", members=()))
    assert err.value.message == f"{tmp_path} holds no audio stems"
    write_wav(tmp_path / "vocals.wav", tone(440, 0.1, 8000), 8000)
    write_wav(tmp_path / "vocals.flac", tone(440, 0.1, 8000), 8000)
    item = InputItem(tmp_path, kind="stems", members=(tmp_path / "vocals.flac", tmp_path / "vocals.wav"))
    with pytest.raises(InputError) as err:
        read_stem_set(item)
    assert err.value.message == f"{tmp_path}: two stems are called 'vocals' (vocals.flac, vocals.wav)"
    assert err.value.hint == "give every stem its own name"
    (tmp_path / "bass.wav").write_text("not audio")
    with pytest.raises(InputError) as err:
        read_stem_set(InputItem(tmp_path, kind="stems", members=(tmp_path / "bass.wav",)))
    assert err.value.message.startswith(f"stem {tmp_path / 'bass.wav'}: {tmp_path / 'bass.wav'} is not readable audio")
    source = read_stem_set(InputItem(tmp_path, kind="stems", members=(tmp_path / "vocals.wav",)))
    assert list(source.stems) == ["vocals"] and source.paths == {"vocals": tmp_path / "vocals.wav"}
    assert source.stems["vocals"][1] == 8000 and source.stems["vocals"][0].shape == (1, 800)


def test_the_csv_table_has_every_column_and_value(audio_dir, tmp_path):
    table = tmp_path / "t" / "scores.csv"
    bad = tmp_path / "missing.wav"
    run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir / "song1.wav"), str(bad)),
                                                       out_dir=tmp_path / "o", table=table))
    rows = list(csv.reader(table.open()))
    assert rows[0] == ["input", "status", "frames", "loads_in_process", "pid"]
    assert rows[1][:2] == [str(tmp_path / "missing.wav"), "failed"] and rows[1][2:] == ["", "", ""]
    assert rows[2][:3] == [str(audio_dir / "song1.wav"), "ok", "22050"] and rows[2][4] == str(os.getpid())
    assert len(rows) == 3 and not [p for p in table.parent.iterdir() if p.name != "scores.csv"]


def test_fatal_errors_from_workers_keep_their_class_message_and_hint():
    err = _fatal_from({"_fatal": "ModelError", "error": "weights missing", "hint": "put them there"})
    assert isinstance(err, ModelError) and (err.message, err.hint) == ("weights missing", "put them there")
    assert isinstance(_fatal_from({"_fatal": "UsageError", "error": "bad"}), UsageError)


def test_interrupted_carries_its_summary():
    summary = RunSummary("gain", interrupted=True)
    stop = Interrupted(summary)
    assert isinstance(stop, KeyboardInterrupt) and stop.summary is summary and str(stop) == "interrupted"
    assert summary.exit_code == 130 and summary.as_dict()["interrupted"] is True


def test_tasks_are_found_by_their_ref_and_checked():
    assert find_task("gain_task:TASK") is gain_task.TASK
    assert find_task("gain_task") is gain_task.TASK  # TASK is the default attribute
    assert import_ref("shape_tasks:SUM", Task, "TASK") is shape_tasks.SUM
    with pytest.raises(TypeError, match="gain_task:Params is not a mirctl Task"):
        find_task("gain_task:Params")
    with pytest.raises(ModuleNotFoundError):
        find_task("no_such_module:TASK")


@pytest.mark.parametrize("code, words", [(errno.EACCES, "permission denied"), (errno.EPERM, "permission denied"),
                                         (errno.EROFS, "the file system is read-only"),
                                         (errno.ENOSPC, "no space left on the device"),
                                         (errno.ENAMETOOLONG, "the name is too long for the file system"),
                                         (errno.ENOTDIR, "a part of the path is a file, not a folder")])
def test_os_errors_in_words(code, words):
    assert plain(OSError(code, os.strerror(code), "/x/.y.mirctl-tmp-1.wav")) == words
    err = write_error(Path("/out/song.wav"), OSError(code, os.strerror(code)))
    assert err.message == f"cannot write /out/song.wav: {words}"


def test_os_errors_without_errno_keep_their_text():
    assert plain(OSError("disk full (injected)")) == "disk full (injected)"
    assert plain(OSError(errno.EBUSY, "Device or resource busy")) == "device or resource busy"
    assert write_error(Path("/o/a.wav"), OSError(errno.ENOSPC, "x")).hint == \
        "free some space or choose another disk with -o"
    assert write_error(Path("/o/a.wav"), OSError(errno.EBUSY, "x")).hint is None


def _planned(path: Path, out: Path):
    from mirctl.pipeline.plan import plan

    return plan([InputItem(path)], gain_task.TASK.slots(gain_task.Params()), "{track}.{output}.{ext}", out, "gain",
                "gain", False)[0]


def test_the_worker_loop_in_process(audio_dir, tmp_path):
    """What a --jobs worker does with each input it is handed, run here in the test's
    own process: one record per input, in order, until it is told to stop."""
    import multiprocessing
    import signal

    from mirctl.models import RunContext
    from mirctl.pipeline.workers import _worker_main

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    parent, child = multiprocessing.Pipe()
    items = [_planned(audio_dir / f"song{i}.wav", tmp_path) for i in (0, 1)]
    for item in items:
        parent.send(item)
    parent.send(None)
    try:
        _worker_main(child, "gain_task:TASK", gain_task.Params(fail_on="song1"), RunContext(), "gain", False)
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # Ctrl-C is the parent's to handle
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    first, second = parent.recv(), parent.recv()
    assert (first["status"], second["status"]) == ("ok", "failed")
    assert second["error"] == "song1.wav is refused by the test" and second["hint"] == "rename it"
    assert first["outputs"] == [str(tmp_path / "song0.loud.wav"), str(tmp_path / "song0.quiet.wav")]
    with pytest.raises(EOFError):  # nothing more: the worker closed its end when told to stop
        parent.recv()


def test_a_worker_reports_a_fatal_model_error_instead_of_a_record(audio_dir, tmp_path):
    import multiprocessing
    import signal

    from mirctl.models import RunContext
    from mirctl.pipeline.workers import _worker_main

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    parent, child = multiprocessing.Pipe()
    parent.send(_planned(audio_dir / "song0.wav", tmp_path))
    parent.send(None)
    try:
        _worker_main(child, "gain_task:TASK", gain_task.Params(model_missing=True), RunContext(), "gain", False)
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert parent.recv() == {"_fatal": "ModelError", "error": "the gain model is missing", "hint": "it never existed"}


def test_a_fatal_error_in_a_worker_stops_the_whole_run(audio_dir, tmp_path):
    with pytest.raises(ModelError, match="the gain model is missing"):
        run(gain_task.TASK, gain_task.Params(model_missing=True),
            RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "o", jobs=2))
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
