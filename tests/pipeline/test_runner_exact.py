"""runner.py's promises, value by value (written for its surviving mutants): inputs expanded
with the options each shape takes, references and scores for --eval, what every task hook
receives (a spy task), records and summaries, warnings, batch files, fail-fast and Ctrl-C
counts, worker processes and their threads, the SIGINT handler put back, exact refusals."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import pytest

import gain_task
import shape_tasks
from conftest import tone, write_wav
from mirctl.errors import UsageError
from mirctl.pipeline import RunOptions, run
from mirctl.pipeline import runner as runner_mod
from mirctl.pipeline.task import EvalRequest
from mirctl.types import TaskResult


def test_a_file_task_reads_folders_recursively_only_when_asked(audio_dir, tmp_path):
    flat = run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "a"))
    deep = run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "b",
                                                              recursive=True))
    assert sorted(Path(r["input"]).name for r in flat.records) == ["song0.wav", "song1.wav", "song2.wav"]
    assert sorted(Path(r["input"]).name for r in deep.records) == ["deep.wav", "song0.wav", "song1.wav", "song2.wav"]


def test_stdin_lines_are_the_inputs_of_every_shape(audio_dir, tmp_path, midi_file):
    lines = (str(audio_dir / "song1.wav"), str(audio_dir / "sub" / "deep.wav"))
    files = runner_mod.expand(gain_task.TASK, RunOptions(inputs=("-",), stdin_lines=lines))
    assert [i.path for i in files] == [Path(p) for p in lines]
    prompts = runner_mod.expand(shape_tasks.TONE, RunOptions(inputs=("-",), stdin_lines=(str(midi_file),)))
    assert [(i.path, i.kind) for i in prompts] == [(Path(midi_file), "file")]
    stems = tmp_path / "stems"
    for name in ("bass", "drums"):
        write_wav(stems / f"{name}.wav", tone(110, 0.2, 8000), 8000)
    sets = runner_mod.expand(shape_tasks.SUM, RunOptions(inputs=("-",), stdin_lines=(str(stems),)))
    assert [(i.path, i.kind, [m.name for m in i.members]) for i in sets] == [(stems, "stems", ["bass.wav", "drums.wav"])]


def test_prompt_folders_are_searched_recursively_when_asked(tmp_path, midi_file):
    deep = tmp_path / "prompts" / "deeper" / "p.mid"
    deep.parent.mkdir(parents=True)
    deep.write_bytes(Path(midi_file).read_bytes())
    found = runner_mod.expand(shape_tasks.TONE, RunOptions(inputs=(str(tmp_path / "prompts"),), recursive=True))
    assert [i.path for i in found] == [deep]


def test_extensions_given_to_run_replace_the_task_s(tmp_path):
    folder = tmp_path / "in"
    write_wav(folder / "a.wav", tone(220, 0.2, 8000), 8000)
    write_wav(folder / "b.flac", tone(330, 0.2, 8000), 8000)
    summary = run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(folder),), out_dir=tmp_path / "o"),
                  extensions=(".flac",))
    assert [Path(r["input"]).name for r in summary.records] == ["b.flac"]
    assert [i.path.name for i in runner_mod.expand(gain_task.TASK, RunOptions(inputs=(str(folder),)))] == ["a.wav", "b.flac"]


def test_files_and_n_together_are_refused_with_the_difference_explained(midi_file):
    for extra in ({"count": 2}, {"names": ("x",)}):
        with pytest.raises(UsageError) as err:
            runner_mod.expand(shape_tasks.TONE, RunOptions(inputs=(str(midi_file),), **extra))
        assert err.value.message == "give input files or -n/--names, not both"
        assert err.value.hint == "files are continued one item each; -n N generates N items from nothing"


# --- references for --eval ---------------------------------------------------------------

REF_ROOT: list[Path] = []


class RefTask(gain_task.Gain):
    """Reports what the runner put in ``source.refs``: a reference per stem key."""

    def slots(self, params):
        return []

    def eval_request(self, params):
        return EvalRequest(ref=REF_ROOT[0], extensions=(".wav",), keys=("vocals", "bass"))

    def process(self, model, source, params, progress):
        refs = {k: None if v is None else [int(v[0].shape[1]), v[1]] for k, v in source.refs.items()}
        return TaskResult(outputs={}, data={"refs": refs})


REF_TASK = RefTask(name="reftask", ref="test_runner_exact:REF_TASK", extensions=(".wav",))


def test_references_are_read_for_each_input_and_missing_ones_are_none(tmp_path):
    songs = tmp_path / "songs"
    write_wav(songs / "one.wav", tone(220, 0.2, 8000), 8000)
    write_wav(songs / "two.wav", tone(220, 0.2, 8000), 8000)
    ref = tmp_path / "ref"
    write_wav(ref / "one" / "vocals.wav", tone(440, 0.5, 8000), 8000)
    write_wav(ref / "one" / "bass.wav", tone(55, 0.25, 16000), 16000)
    write_wav(ref / "two" / "vocals.wav", tone(440, 0.125, 8000), 8000)
    REF_ROOT[:] = [ref]
    summary = run(REF_TASK, gain_task.Params(), RunOptions(inputs=(str(songs),), out_dir=tmp_path / "o"))
    assert [r["error"] for r in summary.records] == [None, None]
    got = {Path(r["input"]).name: r["result"]["refs"] for r in summary.records}
    assert got == {"one.wav": {"vocals": [4000, 8000], "bass": [4000, 16000]},
                   "two.wav": {"vocals": [1000, 8000], "bass": None}}


# --- Ctrl-C and the SIGINT handler ------------------------------------------------------------


class Watcher(runner_mod.NullReporter):
    """Notes the SIGINT handler in force while the run reports its end."""

    def finish(self, summary):
        self.handler_at_finish = signal.getsignal(signal.SIGINT)


def test_the_callers_sigint_handler_is_back_after_a_run_and_after_ctrl_c(audio_dir, tmp_path, monkeypatch):
    def mine(signum, frame):  # pragma: no cover - never called
        pass

    previous = signal.signal(signal.SIGINT, mine)
    try:
        watcher = Watcher()
        run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "a"), watcher)
        assert signal.getsignal(signal.SIGINT) is mine and watcher.handler_at_finish is mine

        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(runner_mod, "write_artifact", interrupted)
        watcher = Watcher()
        with pytest.raises(runner_mod.Interrupted) as err:
            run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "b"),
                watcher)
        assert err.value.summary.interrupted and err.value.summary.exit_code == 130
        assert watcher.handler_at_finish is signal.SIG_IGN  # a second Ctrl-C cannot break the report
        assert signal.getsignal(signal.SIGINT) is mine  # and the caller's handler is back afterwards
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_run_in_another_thread_leaves_signals_alone(audio_dir, tmp_path):
    """Signal handlers can only be set from the main thread: a notebook's or server's
    worker thread runs a batch without touching them."""
    before = signal.getsignal(signal.SIGINT)
    outcome: list[object] = []

    def work():
        try:
            outcome.append(run(gain_task.TASK, gain_task.Params(),
                               RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "t")).exit_code)
        except BaseException as err:  # pragma: no cover - reported below
            outcome.append(err)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert outcome == [0]
    assert signal.getsignal(signal.SIGINT) is before
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [f"song{i}.{k}.wav" for i in range(3)
                                                                  for k in ("loud", "quiet")]


# --- one input's record ----------------------------------------------------------------------


def test_jsonable_turns_results_into_plain_json():
    import json
    from dataclasses import dataclass

    import numpy as np

    @dataclass
    class Point:
        x: float
        where: Path

    value = {1: (np.float32(0.5), np.int64(3), float("nan")), "p": Point(float("inf"), Path("a/b")),
             "n": [float("-inf"), np.bool_(True), None, "s"], "type": Point}
    got = runner_mod.jsonable(value)
    assert got == {"1": [0.5, 3, None], "p": {"x": None, "where": "a/b"}, "n": [None, True, None, "s"],
                   "type": Point}
    assert type(got["1"][1]) is int and type(got["n"][1]) is bool
    assert json.dumps({k: v for k, v in got.items() if k != "type"}, allow_nan=False)
    assert runner_mod.jsonable(2.5) == 2.5 and runner_mod.jsonable(Path("x")) == "x"


class Noisy(gain_task.Gain):
    """Warns in every way a task can while it processes."""

    def process(self, model, source, params, progress):
        import warnings

        from mirctl.errors import MirctlWarning

        progress(0.25)
        warnings.warn("the tempo is a guess", MirctlWarning)
        warnings.warn("a library's own warning", UserWarning)
        warnings.warn("overflow in multiply", RuntimeWarning)
        return gain_task.process(model, source, params, progress)


NOISY = Noisy(name="noisy", ref="test_runner_exact:NOISY", extensions=(".wav",),
              default_template="{track}.{output}.{ext}")


class Progress(runner_mod.NullReporter):
    def __init__(self):
        self.calls = []

    def file_progress(self, label, fraction):
        self.calls.append((Path(label).name, fraction))


def test_warnings_go_to_the_record_or_on_their_way_and_progress_reaches_the_reporter(tmp_path):
    write_wav(tmp_path / "in" / "a.wav", tone(220, 0.2, 8000), 8000)
    reporter = Progress()
    with pytest.warns(Warning) as shown:
        summary = run(NOISY, gain_task.Params(), RunOptions(inputs=(str(tmp_path / "in"),), out_dir=tmp_path / "o"),
                      reporter)
    (record,) = summary.records
    assert record["status"] == "ok" and record["warnings"] == ["the tempo is a guess"]
    assert sorted((w.category.__name__, str(w.message)) for w in shown) == [
        ("RuntimeWarning", "overflow in multiply"), ("UserWarning", "a library's own warning")]
    assert reporter.calls == [("a.wav", 0.25), ("a.wav", 0.5)]
    source_lines = Path(__file__).read_text().splitlines()
    for w in shown:  # shown where the task raised it, as Python would have shown it
        assert w.filename == __file__ and "warnings.warn(" in source_lines[w.lineno - 1]


def test_an_out_of_range_input_is_said_once_and_its_overflow_warnings_are_not(tmp_path):
    import soundfile as sf

    wild = tmp_path / "in" / "wild.wav"
    wild.parent.mkdir()
    sf.write(str(wild), (4.0 * tone(220, 0.2, 8000)).T, 8000, subtype="FLOAT")
    with pytest.warns(Warning) as shown:
        summary = run(NOISY, gain_task.Params(), RunOptions(inputs=(str(wild),), out_dir=tmp_path / "o"))
    (record,) = summary.records
    assert record["input_audio"] == {"clipped": True, "out_of_range": True, "peak_dbfs": 6.02}
    assert record["warnings"] == [f"{wild}: samples reach +6.0 dBFS, far outside ±1 (a corrupt or unnormalised "
                                  "float file); outputs may be meaningless", "the tempo is a guess"]
    assert [(w.category.__name__, str(w.message)) for w in shown] == [("UserWarning", "a library's own warning")]


def test_a_failing_input_keeps_its_hint_time_and_model_entry(audio_dir, tmp_path):
    summary = run(gain_task.TASK, gain_task.Params(fail_on="song0"),
                  RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "o"))
    first = summary.records[0]
    assert (Path(first["input"]).name, first["status"]) == ("song0.wav", "failed")
    assert (first["error"], first["hint"]) == ("song0.wav is refused by the test", "rename it")
    assert first["model"] == {"name": "gain", "sha256": "0" * 64}  # the model was loaded for it
    for record in summary.records:
        assert 0 <= record["seconds"] < 2 and record["seconds"] == round(record["seconds"], 3)


def test_a_write_failure_names_the_final_output_not_its_temporary_file(audio_dir, tmp_path, monkeypatch):
    import errno

    def full(artifact, path, fmt, audio):
        assert fmt == "wav" and path.name.startswith(".") and path.parent == tmp_path / "o"
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(runner_mod, "write_artifact", full)
    summary = run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir / "song1.wav"),),
                                                                 out_dir=tmp_path / "o"))
    (record,) = summary.records
    assert record["status"] == "failed"
    assert record["error"] == f"cannot write {tmp_path / 'o' / 'song1.loud.wav'}: no space left on the device"


# --- the run as a whole ---------------------------------------------------------------------


class Recorder(runner_mod.NullReporter):
    def __init__(self):
        self.events = []

    def start(self, command, total, todo):
        self.events.append(("start", command, total, todo))

    def file_start(self, label):
        self.events.append(("file_start", Path(label).name))

    def file_done(self, record):
        self.events.append(("file_done", Path(record["input"]).name, record["status"]))

    def finish(self, summary):
        self.events.append(("finish", summary.count("ok"), summary.count("skipped"), summary.not_run))


def test_the_reporter_hears_every_step_in_order(audio_dir, tmp_path):
    out = tmp_path / "o"
    run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir / "song1.wav"),), out_dir=out))
    reporter = Recorder()
    run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir),), out_dir=out), reporter)
    assert reporter.events == [("start", "gain", 3, 2), ("file_done", "song1.wav", "skipped"),
                               ("file_start", "song0.wav"), ("file_done", "song0.wav", "ok"),
                               ("file_start", "song2.wav"), ("file_done", "song2.wav", "ok"), ("finish", 2, 1, 0)]


def test_fail_fast_with_a_refused_input_runs_nothing(audio_dir, tmp_path):
    reporter = Recorder()
    summary = run(gain_task.TASK, gain_task.Params(),
                  RunOptions(inputs=(str(tmp_path / "missing.wav"), str(audio_dir)), out_dir=tmp_path / "o",
                             fail_fast=True), reporter)
    assert [r["status"] for r in summary.records] == ["failed"] and summary.not_run == 3 and summary.exit_code == 1
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    relaxed = run(gain_task.TASK, gain_task.Params(),
                  RunOptions(inputs=(str(tmp_path / "missing.wav"), str(audio_dir)), out_dir=tmp_path / "p"))
    assert [r["status"] for r in relaxed.records] == ["failed", "ok", "ok", "ok"] and relaxed.not_run == 0


def test_jobs_below_one_is_refused_in_words(audio_dir, tmp_path):
    with pytest.raises(UsageError) as err:
        run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "o", jobs=0))
    assert (err.value.message, err.value.hint) == ("--jobs must be at least 1", None)


def test_the_report_file_goes_into_new_or_existing_folders(audio_dir, tmp_path):
    for report in (tmp_path / "a" / "b" / "c" / "run.jsonl", tmp_path / "run.jsonl"):
        summary = run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir / "song0.wav"),),
                                                                     out_dir=tmp_path / "o", report=report))
        assert [json.loads(line)["status"] for line in report.read_text().splitlines()] == [
            r["status"] for r in summary.records]


def test_the_summary_as_json_counts_each_status_and_rounds_time():
    summary = runner_mod.RunSummary("gain", records=[{"status": s} for s in ("ok", "ok", "skipped", "failed", "ok")],
                                    seconds=1.23456, not_run=4, extra={"audio_s": 7.5})
    assert summary.as_dict() == {"command": "gain", "ok": 3, "skipped": 1, "failed": 1, "not_run": 4,
                                 "interrupted": False, "seconds": 1.235, "audio_s": 7.5}
    assert summary.exit_code == 1
    assert runner_mod.RunSummary("x", records=[{"status": "ok"}]).exit_code == 0
    assert runner_mod.RunSummary("x", not_run=1).exit_code == 1
    assert runner_mod.RunSummary("x", records=[{"status": "failed"}], interrupted=True).exit_code == 130


CTX_SEEN: list[object] = []


class CtxTask(gain_task.Gain):
    def load(self, params, ctx):
        CTX_SEEN.append(ctx)
        return super().load(params, ctx)


CTX_TASK = CtxTask(name="ctxtask", ref="test_runner_exact:CTX_TASK", extensions=(".wav",),
                   default_template="{track}.{output}.{ext}")


def test_the_model_is_loaded_with_the_run_s_device_threads_and_model_path(audio_dir, tmp_path):
    CTX_SEEN.clear()
    run(CTX_TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "o", device="cpu",
                                                 threads=3, model_path=tmp_path / "weights"))
    (ctx,) = CTX_SEEN
    assert (ctx.device, ctx.threads, ctx.model_path) == ("cpu", 3, tmp_path / "weights")


def test_an_input_that_fails_before_the_model_loads_names_the_model_only(tmp_path):
    bad = tmp_path / "in" / "a.wav"
    bad.parent.mkdir()
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")  # passes the plan, fails to decode
    write_wav(tmp_path / "in" / "b.wav", tone(220, 0.2, 8000), 8000)
    summary = run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(tmp_path / "in"),), out_dir=tmp_path / "o"))
    first, second = summary.records
    assert first["status"] == "failed" and first["model"] == {"name": "gain"}
    assert second["status"] == "ok" and second["model"] == {"name": "gain", "sha256": "0" * 64}


def test_the_caller_s_warning_filters_still_hold_for_library_warnings(tmp_path):
    """Only mirctl's own warnings are forced into the record; a caller (a notebook) that
    silenced UserWarnings does not see them come back through the runner."""
    import warnings

    write_wav(tmp_path / "in" / "a.wav", tone(220, 0.2, 8000), 8000)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = run(NOISY, gain_task.Params(), RunOptions(inputs=(str(tmp_path / "in"),), out_dir=tmp_path / "o"))
    assert summary.records[0]["warnings"] == ["the tempo is a guess"]
    assert [str(w.message) for w in seen] == []


# --- a spy task: what the runner hands each hook ------------------------------------------------

SPY_CALLS: list[tuple] = []


class Spy(gain_task.Gain):
    def validate(self, params):
        SPY_CALLS.append(("validate", params))

    def model_name(self, params):
        SPY_CALLS.append(("model_name", params))
        return "spy-model"

    def eval_request(self, params):
        SPY_CALLS.append(("eval_request", params))
        return None

    def item_slots(self, params, item):
        SPY_CALLS.append(("item_slots", params, item.path.name))
        from mirctl.pipeline.task import OutputSlot

        return [OutputSlot("loud", {"output": f"loud{len(item.path.stem)}", "ext": "wav"}),
                OutputSlot("quiet", {"output": "quiet", "ext": "wav"})]

    def plan_ahead(self, params, items):
        SPY_CALLS.append(("plan_ahead", params, [i.path.name for i in items]))

    def load(self, params, ctx):
        model = super().load(params, ctx)
        model.threads = ctx.threads
        return model

    def process(self, model, source, params, progress):
        result = gain_task.process(model, source, params, progress)
        result.data["threads"] = model.threads
        return result

    def summarize(self, records):
        return {"spied": [r["status"] for r in records]}


SPY = Spy(name="spy", ref="test_runner_exact:SPY", extensions=(".wav",), per_item_slots=True,
          default_template="{command}-{model}-{track}.{output}.{ext}")


def test_every_hook_gets_the_run_s_params_and_items(audio_dir, tmp_path):
    SPY_CALLS.clear()
    params = gain_task.Params(fail_on="nothing")
    summary = run(SPY, params, RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "o"))
    calls = [c[0] for c in SPY_CALLS]
    assert calls == ["validate", "model_name", "eval_request", "item_slots", "item_slots", "item_slots",
                     "plan_ahead", "validate"]  # the last when the session (the model) opens
    assert all(c[1] is params for c in SPY_CALLS)
    assert sorted(c[2] for c in SPY_CALLS if c[0] == "item_slots") == ["song0.wav", "song1.wav", "song2.wav"]
    assert SPY_CALLS[6][2] == ["song0.wav", "song1.wav", "song2.wav"]
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        f"spy-spy-model-song{i}.{k}.wav" for i in range(3) for k in ("loud5", "quiet")]
    assert summary.extra == {"spied": ["ok", "ok", "ok"]} and summary.as_dict()["spied"] == ["ok", "ok", "ok"]
    assert summary.command == summary.as_dict()["command"] == "spy"
    assert [r["result"]["threads"] for r in summary.records] == [None, None, None]
    assert 0 < summary.seconds < 30


def test_worker_processes_share_the_cores_and_the_hooks_still_run(audio_dir, tmp_path, monkeypatch):
    SPY_CALLS.clear()
    monkeypatch.setattr(runner_mod.os, "cpu_count", lambda: 5)  # 5 cores, 2 workers: 2 threads each
    summary = run(SPY, gain_task.Params(), RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "o", jobs=2))
    threads = [r["result"]["threads"] for r in summary.records]
    assert threads == [2, 2, 2] and all(type(t) is int for t in threads)
    assert ("plan_ahead", gain_task.Params(), []) in SPY_CALLS  # nothing is planned ahead for workers
    assert summary.extra == {"spied": ["ok", "ok", "ok"]}
    given = run(SPY, gain_task.Params(), RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "p", jobs=2,
                                                    threads=1))
    assert [r["result"]["threads"] for r in given.records] == [1, 1, 1]


def test_outputs_go_to_mirctl_out_and_the_command_without_a_folder(audio_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir / "song0.wav"),)))
    assert sorted(p.name for p in (tmp_path / "mirctl_out" / "gain").iterdir()) == ["song0.loud.wav", "song0.quiet.wav"]


def test_not_run_counts_what_an_interrupt_or_fail_fast_left(audio_dir, tmp_path, monkeypatch):
    stopped = run(gain_task.TASK, gain_task.Params(fail_on="song1"),
                  RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "a", fail_fast=True))
    assert [r["status"] for r in stopped.records] == ["ok", "failed"] and stopped.not_run == 1
    real, calls = runner_mod.write_artifact, []

    def second_input_interrupted(artifact, path, fmt, audio):
        calls.append(path)
        if len(calls) == 3:  # the first output of the second input
            raise KeyboardInterrupt
        real(artifact, path, fmt, audio)

    monkeypatch.setattr(runner_mod, "write_artifact", second_input_interrupted)
    with pytest.raises(runner_mod.Interrupted) as err:
        run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "b"))
    assert [r["status"] for r in err.value.summary.records] == ["ok"] and err.value.summary.not_run == 2


def test_debug_lets_an_unexpected_error_through(audio_dir, tmp_path):
    quiet = run(gain_task.TASK, gain_task.Params(crash_on="song0"),
                RunOptions(inputs=(str(audio_dir / "song0.wav"),), out_dir=tmp_path / "a"))
    assert quiet.records[0]["error"] == "ZeroDivisionError: boom"
    with pytest.raises(ZeroDivisionError):
        run(gain_task.TASK, gain_task.Params(crash_on="song0"),
            RunOptions(inputs=(str(audio_dir / "song0.wav"),), out_dir=tmp_path / "b", debug=True))


def test_fail_fast_stops_worker_processes_too(tmp_path):
    """Every input fails: the two inputs handed out first come back failed, and no worker
    is given another (which worker answers first is a race; the counts are not)."""
    folder = tmp_path / "in"
    for i in range(8):
        write_wav(folder / f"song{i}.wav", tone(220, 0.2, 8000), 8000)
    summary = run(gain_task.TASK, gain_task.Params(fail_on="song"),
                  RunOptions(inputs=(str(folder),), out_dir=tmp_path / "o", jobs=2, fail_fast=True))
    assert [r["status"] for r in summary.records] == ["failed", "failed"]
    assert summary.not_run == 6 and summary.exit_code == 1


EVAL_REF: list[Path] = []


class Scored(gain_task.Gain):
    """Transcribes every input as the reference's own notes: a perfect score."""

    def slots(self, params):
        return []

    def eval_request(self, params):
        return EvalRequest(ref=EVAL_REF[0], extensions=(".mid",), evaluation="transcription")

    def process(self, model, source, params, progress):
        from mirctl.io.notes import read_notes

        return TaskResult(outputs={}, data={"n": 1}, estimate=read_notes(EVAL_REF[0]))


SCORED = Scored(name="scored", ref="test_runner_exact:SCORED", extensions=(".wav",))


def test_eval_scores_each_input_against_its_reference_and_summarizes(audio_dir, tmp_path, midi_file):
    EVAL_REF[:] = [Path(midi_file)]
    summary = run(SCORED, gain_task.Params(), RunOptions(inputs=(str(audio_dir / "song0.wav"), str(audio_dir / "song1.wav")),
                                                         out_dir=tmp_path / "o"))
    for record in summary.records:
        assert record["result"]["n"] == 1 and set(record["result"]) == {"n", "eval"}
        assert record["result"]["eval"]["onset"]["f1"] == 1.0 and record["result"]["eval"]["onset_offset"]["f1"] == 1.0
    assert summary.extra == {"mean_note_f1": {"onset": 1.0, "onset_offset": 1.0}}


def test_workers_start_for_two_inputs_or_more_and_not_for_one(audio_dir, tmp_path):
    import os

    one = run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir / "song0.wav"),),
                                                             out_dir=tmp_path / "a", jobs=2))
    assert [r["result"]["pid"] for r in one.records] == [os.getpid()]  # no process is spawned for one input
    two = run(gain_task.TASK, gain_task.Params(), RunOptions(inputs=(str(audio_dir / "song0.wav"), str(audio_dir / "song1.wav")),
                                                             out_dir=tmp_path / "b", jobs=2))
    assert all(r["result"]["pid"] != os.getpid() for r in two.records) and len(two.records) == 2


class Batch(gain_task.Gain):
    """Writes one file for the whole batch: each input's name and status."""

    def batch_file(self, path, records, params):
        return "".join(f"{Path(r['input']).name},{r['status']},{params.fail_on or '-'},{path.suffix}\n"
                       for r in records)


BATCH = Batch(name="batch", ref="test_runner_exact:BATCH", extensions=(".wav",),
              default_template="{track}.{output}.{ext}")


def test_a_batch_file_is_written_for_a_whole_batch_and_not_for_an_interrupted_one(audio_dir, tmp_path, monkeypatch):
    answer = tmp_path / "sub" / "answer.csv"
    run(BATCH, gain_task.Params(fail_on="song1"), RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "o",
                                                             batch_file=answer))
    assert answer.read_text() == "song0.wav,ok,song1,.csv\nsong1.wav,failed,song1,.csv\nsong2.wav,ok,song1,.csv\n"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner_mod, "write_artifact", interrupted)
    other = tmp_path / "other.csv"
    with pytest.raises(runner_mod.Interrupted):
        run(BATCH, gain_task.Params(), RunOptions(inputs=(str(audio_dir),), out_dir=tmp_path / "p", batch_file=other))
    assert not other.exists()


def test_batch_text_is_utf8_in_existing_folders_and_in_an_ascii_locale(tmp_path):
    import os
    import subprocess
    import sys

    runner_mod.write_text(tmp_path / "names.csv", "naïve,♪\n")  # tmp_path exists already
    assert (tmp_path / "names.csv").read_bytes() == "naïve,♪\n".encode("utf-8")
    code = ("import sys, locale; from pathlib import Path; from mirctl.pipeline.runner import write_text; "
            "assert locale.getpreferredencoding(False) != 'UTF-8'; write_text(Path(sys.argv[1]), 'na\\u00efve\\n')")
    env = dict(os.environ, LC_ALL="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0", PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "c.csv")], env=env, check=True, timeout=120)
    assert (tmp_path / "c.csv").read_bytes() == "naïve\n".encode("utf-8")
