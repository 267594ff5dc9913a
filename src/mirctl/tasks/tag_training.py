"""``mirctl train tag``: multi-label taggers trained on the user's clips.

Data: ``--data DIR`` and a multi-hot labels table (:mod:`mirctl.training.data`); the
network, representation and augmentation are :mod:`mirctl.training.clips`'. Validation
scores each validation clip exactly as ``mirctl tag --model CKPT`` will (its patches,
mean probability), tunes one threshold per tag for the best F1 there, and reports the
loss, macro precision/recall/F1 at those thresholds, F1 at 0.5, ROC-AUC and PR-AUC; the
checkpoint with the lowest validation loss is kept, and its thresholds and per-tag
figures go into its card.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirctl.errors import UsageError
from mirctl.training.clips import ClipParams, ClipTraining, Example


@dataclass(frozen=True)
class Params(ClipParams):
    pass


class TagTraining(ClipTraining):
    name = "tag"
    ref = f"{__name__}:TRAINABLE"
    backend = "mirctl.backends.clip_models:TrainedTagger"
    monitor = "loss"  # the validation clips' binary cross-entropy: smooth, and it still moves when F1 is 1
    mode = "min"
    activation = "sigmoid"

    def read_table(self, params: Params, data: Path) -> tuple[list[str], list[Any]]:
        from mirctl.training.data import read_multilabel

        table = Path(params.labels) if params.labels is not None else data / self.default_table
        return read_multilabel(table, data)

    def check_training_set(self, labels: list[str], train: list[Example]) -> dict[str, Any]:
        import numpy as np

        positives = np.sum([e.y for e in train], axis=0)
        absent = [t for t, n in zip(labels, positives) if n == 0]
        if absent:
            raise UsageError(f"no training clip has the tag(s) {', '.join(absent)}",
                             hint="label some clips with them, or drop those columns")
        return {"positives": {t: int(n) for t, n in zip(labels, positives)}}

    def target_loss(self, logits: Any, y: Any, params: Params, model: Any) -> Any:
        import torch

        return torch.nn.functional.binary_cross_entropy_with_logits(logits, y.float())

    def scores(self, model: Any, examples: list[Example], params: Params) -> Any:
        """Each clip's tag scores as ``mirctl tag --model`` computes them: the mean
        probability over its consecutive 3 s patches."""
        return _clip_scores(self.patch_probabilities(model, examples, params))

    def metrics(self, reference: Any, per_patch: list[Any], params: Params, info: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        from mirctl.evaluation.tagging import evaluate, tune_thresholds

        tags = info["labels"]
        scores = _clip_scores(per_patch)
        reference = reference.astype(bool)
        clipped = np.clip(scores, 1e-7, 1 - 1e-7)
        loss = float(-np.mean(reference * np.log(clipped) + (~reference) * np.log(1 - clipped)))
        thresholds = tune_thresholds(reference, scores)
        tuned = evaluate(reference, scores, tags, dict(zip(tags, thresholds.tolist())))
        at_half = evaluate(reference, scores, tags, 0.5)
        out: dict[str, Any] = {"loss": loss}
        for name, value in (("precision", tuned["macro"]["precision"]), ("recall", tuned["macro"]["recall"]),
                            ("macro_f1", tuned["macro"]["f1"]), ("macro_f1_at_0.5", at_half["macro"]["f1"]),
                            ("roc_auc", tuned["macro"]["roc_auc"]), ("pr_auc", tuned["macro"]["pr_auc"])):
            if value is not None:
                out[name] = value
        out["thresholds"] = {t: float(v) for t, v in zip(tags, thresholds)}
        out["per_tag"] = {t: {k: row[k] for k in ("positives", "precision", "recall", "f1", "roc_auc", "pr_auc")}
                          for t, row in tuned["tags"].items()}
        return out

    def card_fields(self, params: Params, info: dict[str, Any]) -> dict[str, Any]:
        return {"positives": info["positives"]}


def _clip_scores(per_patch: list[Any]) -> Any:
    """(clips, tags): each clip's mean probability over its patches."""
    import numpy as np

    return np.stack([p.mean(axis=0) for p in per_patch])


TRAINABLE = TagTraining()
