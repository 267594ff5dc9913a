"""A tiny trainable task for the training runner's tests: 2-D points, two classes.

``--data DIR`` holds ``points.csv`` (x,y,label). Every fifth point is validation. The
network has dropout (so the torch generator matters) and ``collate`` jitters the points
(so the per-batch numpy generator matters). ``evaluate`` reports a ``digest`` of the
weights, so two runs can be compared from their JSON lines alone.
"""

from __future__ import annotations

import csv
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from mirctl.cli.train import execute_training, trainer_command, TrainCommon
from mirctl.errors import UsageError
from mirctl.training import Prepared, Trainable


@dataclass(frozen=True)
class Params:
    hidden: int = 16
    delay_s: float = 0.0  # sleep per step (to interrupt a run from outside)
    jitter: float = 0.05


def weights_digest(model) -> float:
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().numpy().tobytes())
    return float(int(h.hexdigest()[:12], 16))


class Points(Trainable):
    name = "points"
    ref = "fake_trainable:TRAINABLE"
    backend = "fake_trainable:PointClassifier"
    monitor = "accuracy"
    mode = "max"

    def validate(self, params):
        if params.hidden < 1:
            raise UsageError("--hidden must be at least 1")

    def prepare(self, params, data, seed):
        rows = [(float(r["x"]), float(r["y"]), int(r["label"])) for r in csv.DictReader((Path(data) / "points.csv").open())]
        return Prepared(train=[r for i, r in enumerate(rows) if i % 5], valid=[r for i, r in enumerate(rows) if not i % 5],
                        info={"labels": ["left", "right"], "features": {"inputs": ["x", "y"]}})

    def build(self, params, info):
        import torch

        return torch.nn.Sequential(torch.nn.Linear(2, params.hidden), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                   torch.nn.Linear(params.hidden, 2))

    def collate(self, examples, rng, params):
        import numpy as np
        import torch

        xy = np.array([e[:2] for e in examples], dtype=np.float32)
        xy += rng.normal(0, params.jitter, xy.shape).astype(np.float32)
        return torch.from_numpy(xy), torch.tensor([e[2] for e in examples])

    def loss(self, model, batch, params):
        import torch

        if params.delay_s:
            time.sleep(params.delay_s)
        x, y = batch
        logits = model(x)
        return torch.nn.functional.cross_entropy(logits, y), {"batch_accuracy": float((logits.argmax(1) == y).float().mean())}

    def evaluate(self, model, prepared, params):
        import torch

        x = torch.tensor([v[:2] for v in prepared.valid])
        y = torch.tensor([v[2] for v in prepared.valid])
        logits = model(x)
        return {"loss": float(torch.nn.functional.cross_entropy(logits, y)),
                "accuracy": float((logits.argmax(1) == y).float().mean()), "digest": weights_digest(model)}


TRAINABLE = Points()


class PointClassifier:
    """The inference backend a finished checkpoint names (``models.load`` builds it)."""

    def __init__(self, card, paths, ctx):
        from mirctl.models.trained import load_weights

        params = Params(**card.options["params"])
        self.net = TRAINABLE.build(params, {}).eval()
        self.net.load_state_dict(load_weights(paths["model.safetensors"]))
        self.labels = card.labels
        self.info = {"name": card.name}

    def __call__(self, xy):
        import torch

        with torch.no_grad():
            return [self.labels[i] for i in self.net(torch.tensor(xy, dtype=torch.float32)).argmax(1).tolist()]


cli = typer.Typer()


@cli.command("points")
@trainer_command()
def train_points(
    hidden: Annotated[int, typer.Option(help="Hidden units.")] = 16,
    delay: Annotated[float, typer.Option(help="Seconds to sleep per step.")] = 0.0,
    train: TrainCommon = TrainCommon(),
) -> None:
    """Train the fake point classifier."""
    execute_training(TRAINABLE, Params(hidden=hidden, delay_s=delay), train)


@cli.callback()
def _root() -> None:
    """Fake trainable CLI."""


def write_points(folder: Path, n: int = 200, seed: int = 0) -> Path:
    import numpy as np

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    labels = rng.integers(0, 2, n)
    xy = rng.normal(0, 0.6, (n, 2)) + np.where(labels[:, None] == 1, 1.0, -1.0)
    with (folder / "points.csv").open("w") as fh:
        fh.write("x,y,label\n")
        for (x, y), lab in zip(xy, labels):
            fh.write(f"{x:.5f},{y:.5f},{lab}\n")
    return folder
