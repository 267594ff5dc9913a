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


def test_a_stem_set_is_read_two_files_at_a_time_in_member_order(tmp_path):
    """Stems decode in two threads: the set keeps the members' order and each its own
    samples, and of two unreadable stems the first in order is the one named."""
    import numpy as np

    members = []
    for k, name in enumerate(("vocals", "drums", "bass", "other", "piano")):
        write_wav(tmp_path / f"{name}.wav", tone(220 * (k + 1), 0.1 + 0.05 * k, 8000), 8000)
        members.append(tmp_path / f"{name}.wav")
    source = read_stem_set(InputItem(tmp_path, kind="stems", members=tuple(members)))
    assert list(source.stems) == ["vocals", "drums", "bass", "other", "piano"]
    for k, m in enumerate(members):
        wav, sr = source.stems[m.stem]
        assert sr == 8000 and wav.shape == (1, 800 + 400 * k)
        np.testing.assert_allclose(wav, tone(220 * (k + 1), 0.1 + 0.05 * k, 8000).reshape(1, -1), atol=1e-4)
    (tmp_path / "bad1.wav").write_text("not audio")
    (tmp_path / "bad2.wav").write_text("not audio either")
    item = InputItem(tmp_path, kind="stems", members=(members[0], tmp_path / "bad2.wav", tmp_path / "bad1.wav"))
    with pytest.raises(InputError) as err:
        read_stem_set(item)
    assert err.value.message.startswith(f"stem {tmp_path / 'bad2.wav'}: ")


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


def test_the_task_contracts_defaults():
    task = Task(name="demo", ref="x:TASK")
    with pytest.raises(NotImplementedError, match="^demo writes no batch file$"):
        task.batch_file(Path("b.csv"), [], None)
    with pytest.raises(NotImplementedError):
        task.slots(None)
    assert (task.model_name(None), task.load(None, None), task.summarize([{"status": "ok"}])) == ("none", None, {})
    assert task.eval_request(None) is None and task.item_slots(None, None) is None
    assert task.plan_ahead(None, []) is None


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


def test_generated_item_names_and_their_refusals():
    from mirctl.pipeline.inputs import generated_items

    assert [i.label for i in generated_items(1)] == ["000"]
    assert [(i.label, i.index, i.kind) for i in generated_items(None, ("b", "a"))] == \
        [("b", 0, "generated"), ("a", 1, "generated")]
    for bad in (".", "..", "a/b", "a\\b", ""):
        with pytest.raises(UsageError) as err:
            generated_items(None, ("ok", bad))
        assert (err.value.message, err.value.hint) == (f"--names: {bad!r} is not a usable name",
                                                       "names become file names: no slashes")
    with pytest.raises(UsageError) as err:
        generated_items(None, ("a", "a"))
    assert err.value.message == "--names: every name must be different"
    for count in (None, 0, -3):
        with pytest.raises(UsageError) as err:
            generated_items(count)
        assert (err.value.message, err.value.hint) == (
            "nothing to generate", "pass -n N (how many items), --names a,b,… or input files")


def test_stem_sets_by_hand_by_glob_and_from_stdin(tmp_path):
    from mirctl.pipeline.inputs import expand_stem_sets

    exts = (".wav",)
    for song in ("a", "b"):
        for stem in ("x", "y"):
            write_wav(tmp_path / song / f"{stem}.wav", tone(440, 0.05, 8000), 8000)
    (by_hand,) = expand_stem_sets([], exts, stems=(str(tmp_path / "b" / "y.wav"), str(tmp_path / "a" / "x.wav")))
    assert (by_hand.path, by_hand.track, by_hand.error) == (tmp_path / "b", "b", None)
    assert by_hand.members == (tmp_path / "b" / "y.wav", tmp_path / "a" / "x.wav")
    (missing,) = expand_stem_sets([], exts, stems=(str(tmp_path / "a" / "x.wav"), str(tmp_path / "nope.wav"),
                                                   str(tmp_path / "gone.wav")))
    assert missing.error == f"--stems: {tmp_path / 'nope.wav'}, {tmp_path / 'gone.wav'} not found"
    assert missing.hint == "check the paths (quote names with spaces)" and missing.kind == "stems"
    globbed = expand_stem_sets([str(tmp_path / "*")], exts)
    assert [(i.path.name, [m.name for m in i.members]) for i in globbed] == [("a", ["x.wav", "y.wav"]),
                                                                             ("b", ["x.wav", "y.wav"])]
    piped = expand_stem_sets(["-"], exts, stdin_lines=(str(tmp_path / "b"), "", str(tmp_path / "a")))
    assert [i.path.name for i in piped] == ["a", "b"] and all(i.error is None for i in piped)
    (gone,) = expand_stem_sets([str(tmp_path / "none")], exts)
    assert (gone.error, gone.hint) == (f"{tmp_path / 'none'} does not exist", "check the path (quote names with spaces)")
    (flat,) = expand_stem_sets([str(tmp_path / "a")], exts, recursive=False)
    assert flat.base is None and [m.name for m in flat.members] == ["x.wav", "y.wav"]
    deep = expand_stem_sets([str(tmp_path)], exts, recursive=True)
    assert [(i.path.name, i.base) for i in deep] == [("a", tmp_path), ("b", tmp_path)]
    (empty,) = expand_stem_sets([str(tmp_path / "a")], (".flac",))
    assert (empty.error, empty.hint) == (f"{tmp_path / 'a'} holds no audio stems",
                                         "a stem set is a folder of audio files (e.g. vocals.wav, drums.wav)")


def test_note_file_errors_say_what_is_wrong(tmp_path):
    from mirctl.io.notes import read_notes

    with pytest.raises(InputError) as err:
        read_notes(tmp_path / "gone.csv")
    assert err.value.message == f"{tmp_path / 'gone.csv'} does not exist"
    (tmp_path / "a.txt").write_text("0,1,60")
    with pytest.raises(InputError) as err:
        read_notes(tmp_path / "a.txt")
    assert (err.value.message, err.value.hint) == (f"{tmp_path / 'a.txt'} is neither a MIDI file nor a note CSV",
                                                   "notes are read from .mid, .midi or .csv")
    (tmp_path / "b.csv").write_text("start_s,end_s,pitch\n0.5,1.0,sixty\n")
    with pytest.raises(InputError) as err:
        read_notes(tmp_path / "b.csv")
    assert err.value.message.startswith(f"{tmp_path / 'b.csv'} is not a note CSV (start_s,end_s,pitch[,velocity]): ")
    (tmp_path / "c.csv").write_text("start_s,end_s,pitch,velocity\n\n1.0,1.5,62\n0.5,1.0,60.4,90,3,-3\n")
    notes = read_notes(tmp_path / "c.csv")
    assert [(n.start_s, n.end_s, n.pitch, n.velocity, n.bends) for n in notes] == [
        (0.5, 1.0, 60, 90, (3, -3)), (1.0, 1.5, 62, 100, None)]
    (tmp_path / "d.mid").write_bytes(b"MThd garbage")
    with pytest.raises(InputError) as err:
        read_notes(tmp_path / "d.mid")
    assert err.value.message.startswith(f"{tmp_path / 'd.mid'} is not a readable MIDI file (")


def test_the_csv_table_is_plain_newline_text_in_a_new_folder(audio_dir, tmp_path):
    table = tmp_path / "a" / "b" / "scores.csv"
    run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir / "song0.wav"),), out_dir=tmp_path / "o",
                                                       table=table))
    raw = table.read_bytes()
    assert b"\r" not in raw and raw.count(b"\n") == 2 and raw.startswith(b"input,status,frames,")


@pytest.mark.parametrize("path, words", [(Path("/dev/null"), "is a device, not a file")])
def test_special_files_are_named_for_what_they_are(path, words):
    from mirctl.io.files import check_input_file

    with pytest.raises(InputError) as err:
        check_input_file(path)
    assert err.value.message == f"{path} {words}"
    assert err.value.hint == "mirctl reads files: save the stream to a file first"


def test_a_socket_is_not_a_file(tmp_path):
    import socket

    from mirctl.io.files import check_input_file

    path = tmp_path / "s.wav"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    try:
        with pytest.raises(InputError) as err:
            check_input_file(path)
        assert err.value.message == f"{path} is a socket, not a file"
    finally:
        sock.close()


def test_the_region_spool_joins_what_it_was_given():
    import numpy as np

    from mirctl.io.spool import RegionSpool

    with RegionSpool() as spool:
        empty = spool.read_all()
        assert empty.shape == (0, 0, 0) and empty.dtype == np.float32
    one = np.arange(12, dtype=np.float64).reshape(2, 1, 6)
    with RegionSpool() as spool:
        spool.append(one)
        back = spool.read_all()
    assert back.dtype == np.float32 and np.array_equal(back, one.astype(np.float32))
    parts = [np.full((2, 3, n), float(n), np.float32) for n in (4, 1, 7)]
    with RegionSpool() as spool:
        for p in parts:
            spool.append(p[:, :, ::-1])  # not contiguous: the spool copies what it needs
        joined = spool.read_all()
    assert joined.shape == (2, 3, 12) and np.array_equal(joined, np.concatenate(parts, axis=2))


def test_references_are_looked_up_in_the_documented_order(tmp_path):
    from mirctl.pipeline.references import SINGLE, find_references
    from mirctl.pipeline.task import EvalRequest

    refs = tmp_path / "refs"
    (refs / "live").mkdir(parents=True)
    for rel in ("live/take.mid", "take.csv", "take.mid"):
        (refs / rel).write_text("x")
    request = EvalRequest(refs, (".mid", ".midi", ".csv"))
    nested = InputItem(tmp_path / "in" / "live" / "take.wav", base=tmp_path / "in")
    top = InputItem(tmp_path / "in" / "take.wav", base=tmp_path / "in")
    assert find_references(request, nested) == {SINGLE: refs / "live" / "take.mid"}  # REF/<reldir>/<track> first
    assert find_references(request, top) == {SINGLE: refs / "take.mid"}  # then REF/<track>, extensions in order
    assert find_references(EvalRequest(refs / "take.csv", (".mid",)), top) == {SINGLE: refs / "take.csv"}
    assert find_references(request, InputItem(tmp_path / "other.wav")) == {SINGLE: None}
    stems = EvalRequest(refs, (".wav",), keys=("vocals", "bass"))
    (refs / "song").mkdir()
    (refs / "song" / "vocals.wav").write_text("x")
    (refs / "bass.wav").write_text("x")
    assert find_references(stems, InputItem(tmp_path / "song.wav")) == {"vocals": refs / "song" / "vocals.wav",
                                                                         "bass": refs / "bass.wav"}
    # a stem set: one reference for each of its own stems, found by the stem's name
    members = EvalRequest(refs, (".wav",), keys_from_members=True)
    folder = tmp_path / "song"
    stem_set = InputItem(folder, kind="stems", members=(folder / "vocals.flac", folder / "bass.wav", folder / "x.wav"))
    assert find_references(members, stem_set) == {"vocals": refs / "song" / "vocals.wav", "bass": refs / "bass.wav",
                                                  "x": None}


def test_a_task_s_defaults_and_its_session(audio_dir):
    from mirctl.models import RunContext
    from mirctl.pipeline.task import Session
    from mirctl.types import AudioSource

    plain = Task(name="t", ref="x:T")
    assert plain.model_name(None) == "none" and plain.load(None, None) is None and plain.summarize([]) == {}
    assert plain.eval_request(None) is None and plain.validate(None) is None
    session = gain_task.TASK.open(gain_task.Params(), RunContext(threads=1))
    assert isinstance(session, Session) and session.task is gain_task.TASK and session.ctx.threads == 1
    assert session.params == gain_task.Params() and session.model_info == {"name": "gain", "sha256": "0" * 64}
    result = session.run(AudioSource(Path("a.wav"), __import__("numpy").full((1, 4), 0.25, "float32"), 8000))
    assert result.data["frames"] == 4 and float(result.outputs["quiet"].wav[0, 0]) == 0.125
    assert Session(Task(name="t", ref="x:T"), None).model_info == {"name": "none"}


def test_midi_with_the_long_extension_is_read_as_notes(tmp_path, midi_file):
    from mirctl.io.notes import read_notes

    long_name = tmp_path / "tune.MIDI"
    long_name.write_bytes(midi_file.read_bytes())
    assert [n.pitch for n in read_notes(long_name)] == [60, 64, 67, 72]
    assert [n.velocity for n in read_notes(long_name)] == [90] * 4
