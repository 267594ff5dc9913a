"""``mirctl train classify``: single-label classifiers trained on the user's clips.

Data: ``--data DIR`` with one sub-folder per class, or a ``path,label[,split][,group]``
table (``--labels``, or ``labels.csv`` in ``--data``); the network, representation and
augmentation are :mod:`mirctl.training.clips`'. Segment-level training (a random 3 s
window of a clip per example; cross-entropy weighted by inverse class frequency with
``class_weights``), song-level validation: each validation clip is ranked as ``mirctl
classify --model CKPT`` will rank it (its patches aggregated by ``aggregate``), and
scored with top-1, top-3 and macro F1; the checkpoint with the lowest validation loss
(the negative log of the clip's mean probability of its true class) is kept, its
per-class figures and confusion matrix go into its card.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirctl.errors import UsageError
from mirctl.training.clips import ClipParams, ClipTraining, Example


@dataclass(frozen=True)
class Params(ClipParams):
    aggregate: str = "mean"  # song-level: mean probability or vote over patches
    class_weights: bool = True  # weight the loss by inverse class frequency


class ClassifyTraining(ClipTraining):
    name = "classify"
    ref = f"{__name__}:TRAINABLE"
    backend = "mirctl.backends.clip_models:TrainedClassifier"
    monitor = "loss"
    mode = "min"
    activation = "softmax"
    stratify = True  # every class on both sides of a random split

    def validate(self, params: Params) -> None:
        from mirctl.tasks.classify import AGGREGATES

        super().validate(params)
        if params.aggregate not in AGGREGATES:
            raise UsageError(f"--aggregate {params.aggregate!r} is not one of {', '.join(AGGREGATES)}")

    def read_table(self, params: Params, data: Path) -> tuple[list[str], list[Any]]:
        from mirctl.io.audio import AUDIO_EXTENSIONS
        from mirctl.training.data import read_class_folders, read_single_label

        table = Path(params.labels) if params.labels is not None else data / self.default_table
        if params.labels is not None or table.is_file():
            return read_single_label(table, data)
        return read_class_folders(data, tuple(AUDIO_EXTENSIONS) + (".npy",))

    def check_training_set(self, labels: list[str], train: list[Example]) -> dict[str, Any]:
        import numpy as np

        counts = np.bincount([int(e.y) for e in train], minlength=len(labels))
        absent = [c for c, n in zip(labels, counts) if n == 0]
        if absent:
            raise UsageError(f"no training clip is of the class(es) {', '.join(absent)}",
                             hint="give each class training clips (the validation split took all of these)")
        return {"counts": {c: int(n) for c, n in zip(labels, counts)}}

    def build(self, params: Params, info: dict[str, Any]) -> Any:
        import torch

        model = super().build(params, info)
        counts = torch.tensor([info["counts"][c] for c in info["labels"]], dtype=torch.float32)
        weight = counts.sum() / (len(counts) * counts) if params.class_weights else torch.ones_like(counts)
        model.register_buffer("class_weight", weight, persistent=False)  # moves with the model, not saved
        return model

    def collate(self, examples: list[Example], rng: Any, params: Params) -> Any:
        x, y = super().collate(examples, rng, params)
        return x, y.long()

    def target_loss(self, logits: Any, y: Any, params: Params, model: Any) -> Any:
        import torch

        return torch.nn.functional.cross_entropy(logits, y, weight=model.class_weight)

    def metrics(self, reference: Any, per_patch: list[Any], params: Params, info: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        from mirctl.evaluation.classification import evaluate
        from mirctl.tasks.classify import rank

        labels = info["labels"]
        truth = [labels[int(i)] for i in reference]
        ranked, nll = [], []
        for probs, true in zip(per_patch, reference):
            order, _, mean = rank(probs, params.aggregate)
            ranked.append([labels[i] for i in order])
            nll.append(-np.log(max(float(mean[int(true)]), 1e-7)))
        report = evaluate(truth, ranked, labels)
        segments = np.concatenate([p.argmax(axis=1) == int(t) for p, t in zip(per_patch, reference)])
        return {"loss": float(np.mean(nll)), "top1": report["top1"], "top3": report["top3"],
                "macro_f1": report["macro_f1"], "segment_top1": round(float(segments.mean()), 4),
                "per_class": report["classes"], "confusion": report["confusion"]}

    def card_fields(self, params: Params, info: dict[str, Any]) -> dict[str, Any]:
        return {"counts": info["counts"], "aggregate": params.aggregate}


TRAINABLE = ClassifyTraining()
