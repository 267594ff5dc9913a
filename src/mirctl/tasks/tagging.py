"""Auto-tagging: audio in, tag probabilities out (musicnn / VGG, MagnaTagATune or MSD tags).

The model sees 3 s patches; the taggram is its output per patch, and a file's scores
are the taggram's mean over patches (as musicnn's tagger reports them). ``--threshold``
turns scores into multi-label decisions, globally or per tag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from mirctl.errors import UsageError
from mirctl.options import option
from mirctl.pipeline.task import OutputSlot, Task
from mirctl.types import ArraysOut, AudioSource, ImageOut, TaskResult, TextOut

TIMELINE_FORMATS = ("csv", "npz")
PATCH_S = 187 * 256 / 16000  # 2.992 s of audio per taggram row


@dataclass(frozen=True)
class Params:
    model: str = option("musicnn-mtt", "Tagger: musicnn-mtt, musicnn-msd, vgg-mtt or vgg-msd "
                                       "(`mirctl models list --task tag`), or a checkpoint folder of "
                                       "`mirctl train tag`.", config="model")
    top_k: int = option(5, "How many of the best tags to report per file.", config="top_k")
    threshold: str | None = option(None, "Multi-label decisions: a score (0.3) for every tag, or TAG=SCORE pairs "
                                         "(piano=0.2,vocal=0.4) with an optional default (0.3,piano=0.2). A model "
                                         "trained by `mirctl train tag` brings per-tag thresholds of its own.")
    timeline: str | None = option(None, "Also write the taggram (one row per 3 s patch): csv, or npz (taggram, start_s, tags).")
    plot: bool = option(False, "Also write a PNG of the taggram (tags over time).")
    embeddings: bool = option(False, "Also write the penultimate-layer embeddings per patch (.npz: patches, mean).")


def parse_threshold(text: str | None) -> tuple[float | None, dict[str, float]]:
    """``"0.3,piano=0.2"`` -> (0.3, {"piano": 0.2})."""
    if text is None:
        return None, {}
    default, per_tag = None, {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, value = part.rpartition("=")
        try:
            score = float(value)
        except ValueError:
            raise UsageError(f"--threshold {text!r}: {value!r} is not a score",
                             hint="e.g. --threshold 0.3 or --threshold 0.3,piano=0.2") from None
        if not (0.0 <= score <= 1.0 and math.isfinite(score)):
            raise UsageError(f"--threshold {text!r}: scores are between 0 and 1")
        if sep:
            per_tag[name.strip()] = score
        else:
            default = score
    return default, per_tag


def validate(params: Params, labels: tuple[str, ...] | None = None) -> None:
    if params.top_k < 1:
        raise UsageError("--top-k must be at least 1")
    if params.timeline is not None and params.timeline not in TIMELINE_FORMATS:
        raise UsageError(f"--timeline {params.timeline!r} is not one of {', '.join(TIMELINE_FORMATS)}")
    _, per_tag = parse_threshold(params.threshold)
    if labels is not None:
        unknown = sorted(set(per_tag) - set(labels))
        if unknown:
            raise UsageError(f"--threshold names tag(s) {', '.join(map(repr, unknown))} that model does not have",
                             hint="its tags: " + ", ".join(labels))


def tag(source: AudioSource, model: Any, params: Params) -> TaskResult:
    import numpy as np

    from mirctl.dsp import to_mono

    taggram, embeddings = model(to_mono(source.wav), source.sr)
    labels = model.labels
    scores = taggram.mean(axis=0)
    order = np.argsort(-scores, kind="stable")
    data: dict[str, Any] = {
        "model": getattr(model, "info", {}).get("name"),
        "duration_s": round(source.wav.shape[-1] / source.sr, 4),
        "patches": int(taggram.shape[0]),
        "padded": bool(source.wav.shape[-1] / source.sr < PATCH_S),
        "top": [[labels[i], round(float(scores[i]), 4)] for i in order[: params.top_k]],
        "scores": {labels[i]: round(float(scores[i]), 6) for i in range(len(labels))},
    }
    default, per_tag = parse_threshold(params.threshold)
    tuned = getattr(model, "thresholds", None) or {}  # a trained checkpoint's, tuned on its validation clips
    if default is not None or per_tag or tuned:
        # a tag's own given threshold, else the given default, else the tuned one
        limits = {name: per_tag.get(name, default if default is not None else tuned.get(name)) for name in labels}
        data["tags"] = [labels[i] for i in order if limits[labels[i]] is not None and scores[i] >= limits[labels[i]]]
        data["thresholds"] = "tuned" if default is None and not per_tag else \
            "given" if default is not None or not tuned else "given+tuned"
    outputs: dict[str, Any] = {}
    times = np.arange(taggram.shape[0]) * PATCH_S
    if params.timeline == "csv":
        head = "start_s," + ",".join('"' + name + '"' if "," in name else name for name in labels)
        rows = [f"{t:.3f}," + ",".join(f"{v:.6f}" for v in row) for t, row in zip(times, taggram)]
        outputs["timeline"] = TextOut("\n".join([head, *rows]) + "\n")
    elif params.timeline == "npz":
        outputs["timeline"] = ArraysOut({"taggram": taggram.astype(np.float32), "start_s": times,
                                         "tags": np.array(labels)})
    if params.embeddings:
        outputs["embeddings"] = ArraysOut({"patches": embeddings.astype(np.float32),
                                           "mean": embeddings.mean(axis=0).astype(np.float32), "start_s": times})
    if params.plot:
        title = f"{getattr(source.path, 'name', 'audio')} — {data['model']}"

        def draw(path: str) -> None:
            from mirctl import viz

            viz.render_taggram(path, taggram, labels, PATCH_S, title=title)

        outputs["plot"] = ImageOut(render=draw)
    return TaskResult(outputs=outputs, data=data, estimate=scores)


class Tagging(Task[Params]):
    """``mirctl tag``: audio files in, tags out."""

    def validate(self, params: Params) -> None:
        validate(params)

    def slots(self, params: Params) -> list[OutputSlot]:
        slots = []
        if params.timeline:
            slots.append(OutputSlot("timeline", {"output": "taggram", "ext": "csv" if params.timeline == "csv" else "npz"}))
        if params.embeddings:
            slots.append(OutputSlot("embeddings", {"output": "embeddings", "ext": "npz"}))
        if params.plot:
            slots.append(OutputSlot("plot", {"output": "taggram", "ext": "png"}))
        return slots

    def model_name(self, params: Params) -> str:
        return params.model

    def load(self, params: Params, ctx: Any) -> Any:
        from mirctl import models

        card = models.get_card(params.model, task="tag")
        validate(params, tuple(card.labels))
        return models.load(card, ctx)

    def process(self, model: Any, source: AudioSource, params: Params, progress: Callable[[float], None]) -> TaskResult:
        return tag(source, model, params)


def _extensions() -> tuple[str, ...]:
    from mirctl.io.audio import AUDIO_EXTENSIONS

    return AUDIO_EXTENSIONS


TASK = Tagging(name="tag", ref=f"{__name__}:TASK", input_kind="audio", extensions=_extensions(),
               default_template="{track}.{output}.{ext}", template_fields=("output", "ext"))
