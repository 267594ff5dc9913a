"""One training runner for every trainable task (``mirctl train TASK``).

A task contributes what is its own — the data, the network, the loss and the
validation metrics — by subclassing :class:`Trainable`; the runner
(:func:`mirctl.training.runner.train`) owns everything else, the same way for every
task: seeding, batching, the optimizer, validation every N steps, early stopping,
checkpoints, resume, progress and the JSON metric lines.

Determinism: the batch order of epoch ``e`` is a permutation drawn from
``numpy.random.default_rng([seed, e])`` and each batch gets its own generator
``default_rng([seed, e, b])`` for augmentation, so a run resumed at step ``k`` sees
exactly the batches an uninterrupted run sees from step ``k`` on; the torch generator
(dropout) is saved with every checkpoint and restored on resume.

A checkpoint folder (``--out DIR``) holds ``model.safetensors`` (the best weights so
far by the task's monitored metric) and ``card.json`` (see :mod:`mirctl.models.trained`);
``DIR/resume/`` holds the latest state (weights, optimizer, step, RNG) until the run
finishes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

#: command -> "module:attribute" of its Trainable (each trainable task adds itself)
REGISTRY: dict[str, str] = {}


@dataclass
class Prepared:
    """What :meth:`Trainable.prepare` returns: the examples of each split and the facts
    the card records (``labels``, ``sample_rate``, ``features`` …)."""

    train: Sequence[Any]
    valid: Sequence[Any]
    info: dict[str, Any] = field(default_factory=dict)


class Trainable:
    """Base class of a trainable task. Override ``prepare``, ``build``, ``loss`` and
    ``evaluate``; the rest has defaults.

    ``monitor``/``mode``: the validation metric that picks the best checkpoint and drives
    early stopping (``"min"`` for a loss, ``"max"`` for an accuracy).
    ``backend``: ``"module:Class"`` that loads the finished checkpoint for inference.
    """

    name: str = ""
    ref: str = ""
    backend: str = ""
    monitor: str = "loss"
    mode: Literal["min", "max"] = "min"

    def validate(self, params: Any) -> None:
        """Raise UsageError for options that cannot work."""

    def prepare(self, params: Any, data: Path, seed: int) -> Prepared:
        raise NotImplementedError

    def build(self, params: Any, info: dict[str, Any]) -> Any:
        """The torch module to train (freshly initialised: the runner seeds torch first)."""
        raise NotImplementedError

    def collate(self, examples: list[Any], rng: Any, params: Any) -> Any:
        """Turn a list of examples into one batch; ``rng`` (numpy) is for augmentation."""
        raise NotImplementedError

    def loss(self, model: Any, batch: Any, params: Any) -> tuple[Any, dict[str, float]]:
        """The training loss (a scalar tensor) and figures to log beside it."""
        raise NotImplementedError

    def evaluate(self, model: Any, prepared: Prepared, params: Any) -> dict[str, float]:
        """Validation metrics (must include ``monitor``); the model is in eval mode and
        gradients are off. Values that are not numbers (a dict of per-class thresholds…)
        are not reported per validation: those of the best validation go into the card."""
        raise NotImplementedError

    def card(self, params: Any, info: dict[str, Any]) -> dict[str, Any]:
        """Task-specific card fields (labels, sample rate, features, thresholds …)."""
        return dict(info)

    def lr_scale(self, step: int, max_steps: int, params: Any) -> float:
        """The learning-rate multiplier for the update after ``step`` updates (a schedule;
        1.0: the optimizer's own rates throughout)."""
        return 1.0

    def optimizer(self, model: Any, params: Any, lr: float) -> Any:
        import torch

        return torch.optim.AdamW(model.parameters(), lr=lr)


def find_trainable(ref: str) -> Trainable:
    """Import ``"module:attribute"`` and return the Trainable it names."""
    from mirctl.pipeline.task import import_ref

    return import_ref(ref, Trainable, "TRAINABLE")
