"""Classification: audio in, one label out (with the ranking of all labels).

The model sees 3 s patches (as the taggers do); a file's ranking aggregates its
patches: ``mean`` (the mean probability) or ``vote`` (each patch votes for its best
class; ties go to the higher mean probability) — the song-level prediction of the
course's singer-ID homework. ``--separate vocals`` runs a separation model on each file
first and classifies one of its stems. A batch can end in one submission file in the
homework formats (``ID,No.1,No.2,No.3`` CSV, or JSON ``{"ID": [3 labels]}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from mirctl.errors import UsageError
from mirctl.options import option
from mirctl.pipeline.task import Task
from mirctl.types import AudioSource, TaskResult

AGGREGATES = ("mean", "vote")
SUBMISSION_RANKS = 3


@dataclass(frozen=True)
class Params:
    model: str = option("genre", "Classifier: a checkpoint folder of `mirctl train classify`, or genre (the "
                                 "pretrained default, derived from the musicnn MSD tagger).", config="model")
    top_k: int = option(3, "How many of the best labels to report per file.", config="top_k")
    aggregate: str | None = option(None, "Song-level prediction from the 3 s patches: mean (probability) or vote; "
                                         "default: what the model was validated with.")
    separate: str | None = option(None, "Classify this stem of a separation first (e.g. vocals, for singer ID).")
    separate_model: str = option("htdemucs", "The separation model for --separate (any `mirctl separate` model, "
                                             "e.g. the weight-free repet).", config="separate_model")


def validate(params: Params) -> None:
    if params.top_k < 1:
        raise UsageError("--top-k must be at least 1")
    if params.aggregate is not None and params.aggregate not in AGGREGATES:
        raise UsageError(f"--aggregate {params.aggregate!r} is not one of {', '.join(AGGREGATES)}")


def rank(per_patch: Any, how: str) -> tuple[Any, Any, Any]:
    """(order best first, the scores it sorts by, mean probabilities) of (patches,
    classes) probabilities: ``mean`` sorts by mean probability, ``vote`` by the share of
    patches whose best class each one is, ties by mean probability."""
    import numpy as np

    mean = per_patch.mean(axis=0)
    if how == "vote":
        votes = np.bincount(per_patch.argmax(axis=1), minlength=per_patch.shape[1]) / per_patch.shape[0]
        return np.lexsort((-mean, -votes)), votes, mean
    return np.argsort(-mean, kind="stable"), mean, mean


@dataclass
class Classifier:
    """The loaded model, and the separation session ``--separate`` runs first."""

    model: Any
    separation: Any = None
    stem: str | None = None

    @property
    def info(self) -> dict[str, Any]:
        """The record's ``model``: the classifier's own info (name, checksum)."""
        info = dict(getattr(self.model, "info", {}) or {})
        if self.separation is not None:
            info["separation"] = self.separation.model_info
        return info


def classify(source: AudioSource, loaded: Classifier, params: Params) -> TaskResult:
    from mirctl.dsp import to_mono

    wav, note = source.wav, None
    if loaded.separation is not None:
        stems = loaded.separation.run(source).outputs
        wav, note = stems[loaded.stem].wav, f"classified the {loaded.stem} stem of {loaded.separation.params.model}"
    model = loaded.model
    how = params.aggregate or getattr(model, "aggregate", "mean")
    per_patch, _ = model(to_mono(wav), source.sr)
    order, scores, mean = rank(per_patch, how)
    labels = model.labels
    data: dict[str, Any] = {
        "model": getattr(model, "info", {}).get("name"),
        "label": labels[order[0]],
        "top": [[labels[i], round(float(scores[i]), 4)] for i in order[: params.top_k]],
        "ranks": {str(r + 1): labels[i] for r, i in enumerate(order[: max(params.top_k, SUBMISSION_RANKS)])},
        "probabilities": {labels[i]: round(float(mean[i]), 6) for i in range(len(labels))},
        "aggregate": how,
        "patches": int(per_patch.shape[0]),
        "duration_s": round(source.wav.shape[-1] / source.sr, 4),
    }
    if how == "vote":
        data["votes"] = {labels[i]: round(float(scores[i]), 4) for i in range(len(labels))}
    if note:
        data["separated"] = note
    return TaskResult(outputs={}, data=data, estimate=mean)


class Classification(Task[Params]):
    """``mirctl classify``: audio files in, labels out."""

    def validate(self, params: Params) -> None:
        validate(params)

    def slots(self, params: Params) -> list:
        return []

    def model_name(self, params: Params) -> str:
        return params.model

    def load(self, params: Params, ctx: Any) -> Classifier:
        from mirctl import models

        card = models.get_card(params.model, task="classify")
        model = models.load(card, ctx)
        if params.separate is None:
            return Classifier(model)
        from mirctl.tasks import separation

        sep_params = separation.Params(model=params.separate_model)
        session = separation.TASK.open(sep_params, ctx)
        stems = tuple(separation.output_stems(sep_params, tuple(session.model.sources)))
        if params.separate not in stems:
            raise UsageError(f"--separate {params.separate!r}: {params.separate_model} gives the stems "
                             f"{', '.join(stems)}", hint="name one of them, or pick another --separate-model")
        return Classifier(model, session, params.separate)

    def process(self, model: Any, source: AudioSource, params: Params, progress: Callable[[float], None]) -> TaskResult:
        return classify(source, model, params)

    def batch_file(self, path: Path, records: list[dict], params: Params) -> str:
        return submission(path, records)


def submission(path: Path, records: list[dict]) -> str:
    """The homework submission of the batch's finished files, sorted by ID (the file
    name without folder and extension): ``ID,No.1,No.2,No.3`` rows for a .csv path,
    ``{"ID": [l1, l2, l3]}`` for .json."""
    rows = sorted((Path(r["input"]).stem, [r["result"]["ranks"][str(k + 1)] for k in range(SUBMISSION_RANKS)
                                           if str(k + 1) in r["result"]["ranks"]])
                  for r in records if r["status"] == "ok" and r.get("result"))
    ids = [i for i, _ in rows]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise UsageError(f"two inputs share the submission ID(s) {', '.join(dupes[:3])}",
                         hint="IDs are file names without folder and extension: they must be unique")
    if Path(path).suffix.lower() == ".json":
        return json.dumps({i: labels for i, labels in rows}, ensure_ascii=False, indent=1) + "\n"
    from mirctl.io.tables import csv_text

    header = ["ID"] + [f"No.{k + 1}" for k in range(SUBMISSION_RANKS)]
    return csv_text([header] + [[i] + labels + [""] * (SUBMISSION_RANKS - len(labels))  # a 2-class model
                                for i, labels in rows])


def _extensions() -> tuple[str, ...]:
    from mirctl.io.audio import AUDIO_EXTENSIONS

    return AUDIO_EXTENSIONS


TASK = Classification(name="classify", ref=f"{__name__}:TASK", input_kind="audio", extensions=_extensions(),
                      default_template="{track}.{ext}", template_fields=("output", "ext"))

__all__ = ["AGGREGATES", "Params", "TASK", "rank", "submission"]
