"""The training runner, through the fake trainable task (fake_trainable.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fake_trainable as fake
from mirctl.errors import ModelError, UsageError
from mirctl.training.runner import TrainOptions, train

pytest.importorskip("torch")
pytest.importorskip("safetensors")
HERE = Path(__file__).resolve().parent


class Collect:
    def __init__(self):
        self.steps, self.valid, self.summary, self.resumed_from = [], [], None, None

    def start(self, task, max_steps, resumed_from):
        self.resumed_from = resumed_from

    def step(self, record):
        self.steps.append(record)

    def validation(self, record):
        self.valid.append(record)

    def finish(self, summary):
        self.summary = summary


def opts(tmp_path, out="ckpt", **kw):
    base = dict(data=fake.write_points(tmp_path / "data"), out=tmp_path / out, seed=3, max_steps=60, batch_size=16,
                lr=0.01, valid_every=10, threads=1, device="cpu")
    return TrainOptions(**{**base, **kw})


def test_training_learns_and_writes_a_checkpoint_folder(tmp_path):
    rep = Collect()
    summary = train(fake.TRAINABLE, fake.Params(), opts(tmp_path), rep)
    out = tmp_path / "ckpt"
    assert summary.status == "finished" and summary.stopped == "max_steps" and summary.steps == 60
    assert sorted(p.name for p in out.iterdir()) == ["card.json", "model.safetensors"]  # resume/ is gone
    card = json.loads((out / "card.json").read_text())
    assert card["format"] == "mirctl-checkpoint/1" and card["task"] == "points" and card["labels"] == ["left", "right"]
    assert card["training"]["status"] == "finished" and card["training"]["steps"] == 60
    assert card["training"]["examples"] == {"train": 160, "valid": 40} and card["params"]["hidden"] == 16
    assert card["metrics"]["accuracy"] >= 0.9  # two well-separated blobs
    assert card["metrics"] == {k: v for k, v in max(rep.valid, key=lambda r: (r["accuracy"], -r["step"])).items()
                               if k not in ("event", "improved")}
    assert [r["step"] for r in rep.valid] == [10, 20, 30, 40, 50, 60]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    import torch

    assert not torch.are_deterministic_algorithms_enabled()
    train(fake.TRAINABLE, fake.Params(), opts(tmp_path, "a"))
    assert not torch.are_deterministic_algorithms_enabled()  # a library call leaves torch as it found it
    train(fake.TRAINABLE, fake.Params(), opts(tmp_path, "b"))
    train(fake.TRAINABLE, fake.Params(), opts(tmp_path, "c", seed=4))
    a, b, c = ((tmp_path / x / "model.safetensors").read_bytes() for x in "abc")
    assert a == b and a != c


def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path):
    whole = Collect()
    train(fake.TRAINABLE, fake.Params(), opts(tmp_path, "whole"), whole)
    first = Collect()
    cut = train(fake.TRAINABLE, fake.Params(), opts(tmp_path, "cut"), first, stop=lambda step: step == 37)
    assert cut.status == "interrupted" and cut.steps == 37 and cut.exit_code == 130
    assert (tmp_path / "cut" / "resume" / "state.json").is_file()
    second = Collect()
    done = train(fake.TRAINABLE, fake.Params(), opts(tmp_path, "cut"), second)
    assert second.resumed_from == 37 and done.status == "finished" and done.steps == 60
    assert whole.valid[-1]["digest"] == second.valid[-1]["digest"]  # the final weights
    assert [r["digest"] for r in whole.valid] == [r["digest"] for r in first.valid + second.valid]
    assert (tmp_path / "whole" / "model.safetensors").read_bytes() == (tmp_path / "cut" / "model.safetensors").read_bytes()


class WithExtras(fake.Points):
    """evaluate() also returns values that are not numbers: facts about those weights."""

    def evaluate(self, model, prepared, params):
        metrics = super().evaluate(model, prepared, params)
        return {**metrics, "numpy_scalar": __import__("numpy").float32(0.5),
                "weights": {"digest": metrics["digest"], "accuracy": metrics["accuracy"]}}


def test_non_numeric_validation_values_go_to_the_card_of_their_weights_and_survive_resume(tmp_path):
    extras = WithExtras()
    whole = Collect()
    train(extras, fake.Params(), opts(tmp_path, "whole"), whole)
    assert all("weights" not in r for r in whole.valid) and all(r["numpy_scalar"] == 0.5 for r in whole.valid)
    best = max(whole.valid, key=lambda r: (r["accuracy"], -r["step"]))
    card = json.loads((tmp_path / "whole" / "card.json").read_text())
    assert card["weights"] == {"digest": best["digest"], "accuracy": best["accuracy"]}  # the best's, not the last's
    assert "weights" not in card["metrics"] and card["metrics"]["numpy_scalar"] == 0.5
    train(extras, fake.Params(), opts(tmp_path, "cut"), stop=lambda step: step == 37)
    train(extras, fake.Params(), opts(tmp_path, "cut"))  # resumed: the best so far came from the first part
    assert json.loads((tmp_path / "cut" / "card.json").read_text())["weights"] == card["weights"]


def test_early_stopping_and_a_finished_run_is_skipped(tmp_path):
    o = opts(tmp_path, max_steps=2000, patience=2, lr=0.05)
    summary = train(fake.TRAINABLE, fake.Params(), o)
    assert summary.stopped == "early" and summary.steps < 2000
    again = train(fake.TRAINABLE, fake.Params(), o)
    assert again.status == "skipped" and again.best["accuracy"] == summary.best["accuracy"]
    redo = train(fake.TRAINABLE, fake.Params(), TrainOptions(**{**o.__dict__, "overwrite": True, "max_steps": 5}))
    assert redo.status == "finished" and redo.steps == 5


def test_resuming_with_other_settings_is_refused(tmp_path):
    train(fake.TRAINABLE, fake.Params(), opts(tmp_path), stop=lambda s: s == 5)
    with pytest.raises(UsageError, match="other settings.*params"):
        train(fake.TRAINABLE, fake.Params(hidden=8), opts(tmp_path))
    with pytest.raises(UsageError, match="other settings.*seed"):
        train(fake.TRAINABLE, fake.Params(), opts(tmp_path, seed=9))


def test_any_model_option_loads_the_checkpoint_folder(tmp_path):
    from mirctl import models

    train(fake.TRAINABLE, fake.Params(), opts(tmp_path))
    card = models.get_card(str(tmp_path / "ckpt"), task="points")
    assert card.folder == str((tmp_path / "ckpt").resolve()) and card.labels == ("left", "right")
    predict = models.load(card, models.RunContext())
    assert predict([[-1.5, -1.0], [1.2, 1.4]]) == ["left", "right"]
    with pytest.raises(ModelError, match="trained for 'points', not 'separate'"):
        models.get_card(str(tmp_path / "ckpt"), task="separate")
    with pytest.raises(ModelError, match="not a mirctl checkpoint folder"):
        models.get_card(str(tmp_path / "data"), task="points")


def test_separate_says_a_checkpoint_of_another_task_does_not_fit(tmp_path, sine_wav):
    from mirctl.cli.app import app

    train(fake.TRAINABLE, fake.Params(), opts(tmp_path, max_steps=3))
    res = CliRunner().invoke(app, ["separate", str(sine_wav), "--model", str(tmp_path / "ckpt")])
    assert res.exit_code == 2 and "was trained for 'points', not 'separate'" in " ".join(res.output.split())


def test_cli_json_lines_and_usage_errors(tmp_path):
    data = fake.write_points(tmp_path / "data")
    res = CliRunner().invoke(fake.cli, ["points", "--data", str(data), "--out", str(tmp_path / "o"), "--max-steps", "20",
                                        "--valid-every", "10", "--log-every", "5", "--json", "--threads", "1"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert [(x["event"], x["step"]) for x in lines if x["event"] != "done"] == \
        [("step", 1), ("step", 5), ("step", 10), ("valid", 10), ("step", 15), ("step", 20), ("valid", 20)]
    assert lines[-1]["event"] == "done" and lines[-1]["status"] == "finished"
    bad = CliRunner().invoke(fake.cli, ["points", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "does not exist" in " ".join(bad.output.split())
    bad = CliRunner().invoke(fake.cli, ["points", "--data", str(data), "--out", str(tmp_path / "y"), "--hidden", "0"])
    assert bad.exit_code == 2 and "--hidden must be at least 1" in " ".join(bad.output.split())


SCRIPT = "import sys; sys.path.insert(0, {here!r}); import fake_trainable; fake_trainable.cli()"


def _start(tmp_path, out, *extra):
    cmd = [sys.executable, "-c", SCRIPT.format(here=str(HERE)), "points", "--data", str(tmp_path / "data"),
           "--out", str(out), "--max-steps", "120", "--valid-every", "10", "--log-every", "1", "--seed", "5",
           "--threads", "1", "--device", "cpu", "--json", *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "MIRCTL_OFFLINE": "1"})


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_the_same_command_resumes_it(tmp_path):
    fake.write_points(tmp_path / "data")
    whole = _start(tmp_path, tmp_path / "whole")
    whole_out, _ = whole.communicate(timeout=120)
    assert whole.returncode == 0
    proc = _start(tmp_path, tmp_path / "cut", "--delay", "0.02")
    for line in proc.stdout:
        if json.loads(line).get("step", 0) >= 25:
            break
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and time.monotonic() - sent < 5
    assert "resumable" in err and "Traceback" not in err
    state = json.loads((tmp_path / "cut" / "resume" / "state.json").read_text())
    assert 25 <= state["step"] < 120
    card = json.loads((tmp_path / "cut" / "card.json").read_text())
    assert card["training"]["status"] == "interrupted" and " --max-steps 120 " in card["training"]["command"]
    again = _start(tmp_path, tmp_path / "cut", "--delay", "0.02")
    again_out, again_err = again.communicate(timeout=120)
    assert again.returncode == 0 and f"resuming at step {state['step']}" in again_err

    def last_digest(text):
        return [json.loads(x) for x in text.splitlines() if '"valid"' in x][-1]["digest"]

    assert last_digest(again_out) == last_digest(whole_out)
