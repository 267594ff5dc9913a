"""``mirctl train tag``: multi-label taggers trained on the user's clips.

Data: ``--data DIR`` and a multi-hot labels table (:mod:`mirctl.training.data`). Every
clip becomes the representation once, before training: its mel spectrogram
(``features = mel``) or the pretrained musicnn embeddings of its 3 s patches
(``musicnn-mtt`` / ``musicnn-msd``). A training example is one 3 s window of a clip
with the clip's tags: a random crop of its mel frames with a random gain (±``gain_db``)
or one random patch's embedding. Validation scores each validation clip exactly as
``mirctl tag --model CKPT`` will (its patches, mean probability), tunes one threshold
per tag for the best F1 there, and reports macro precision/recall/F1 at those
thresholds, F1 at 0.5, ROC-AUC and PR-AUC; the checkpoint with the lowest validation
loss is kept, and its thresholds and per-tag figures go into its card.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirctl.errors import UsageError
from mirctl.training import Prepared, Trainable

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Params:
    labels: Path | None = None  # the labels table; None: DATA/labels.csv
    features: str = "mel"  # mel | musicnn-mtt | musicnn-msd
    head: str = "mlp"  # on musicnn features: linear | mlp
    width: int = 32  # channels of the CNN's first block
    dropout: float = 0.3
    gain_db: float = 6.0  # augmentation: a random gain within ± this (mel features)
    valid_fraction: float = 0.2
    npy_sr: int = 16000


@dataclass
class Example:
    name: str
    x: Any  # mel power (frames, 96) float16, or embeddings (patches, 200) float32
    y: Any  # multi-hot float32 (tags,)


class TagTraining(Trainable):
    name = "tag"
    ref = f"{__name__}:TRAINABLE"
    backend = "mirctl.backends.trained_tagger:TrainedTagger"
    monitor = "loss"  # the validation clips' binary cross-entropy: smooth, and it still moves when F1 is 1
    mode = "min"

    def validate(self, params: Params) -> None:
        from mirctl.backends.trained_tagger import FEATURES

        if params.features not in FEATURES:
            raise UsageError(f"--features {params.features!r} is not one of {', '.join(FEATURES)}")
        if params.head not in ("linear", "mlp"):
            raise UsageError(f"--head {params.head!r} is not linear or mlp")
        if params.width < 1 or params.npy_sr < 1:
            raise UsageError("--width and --npy-sr must be at least 1")
        if not 0.0 <= params.dropout < 1.0:
            raise UsageError(f"--dropout {params.dropout} must be in [0, 1)")
        if params.gain_db < 0:
            raise UsageError(f"--gain-db {params.gain_db} must be at least 0")

    def prepare(self, params: Params, data: Path, seed: int) -> Prepared:
        import numpy as np

        from mirctl.training.data import load_clip, read_multilabel, split

        table = Path(params.labels) if params.labels is not None else Path(data) / "labels.csv"
        tags, clips = read_multilabel(table, Path(data))
        train_clips, valid_clips = split(clips, params.valid_fraction, seed)
        represent = self._representation(params)
        examples = {}
        for clip in train_clips + valid_clips:
            mono, sr = load_clip(clip.path, params.npy_sr)
            examples[clip.path] = Example(clip.path.name, represent(mono, sr), np.asarray(clip.target, np.float32))
        train = [examples[c.path] for c in train_clips]
        valid = [examples[c.path] for c in valid_clips]
        positives = np.sum([e.y for e in train], axis=0)
        absent = [t for t, n in zip(tags, positives) if n == 0]
        if absent:
            raise UsageError(f"no training clip has the tag(s) {', '.join(absent)}",
                             hint="label some clips with them, or drop those columns")
        return Prepared(train=train, valid=valid,
                        info={"labels": list(tags), "table": str(table),
                              "positives": {t: int(n) for t, n in zip(tags, positives)}})

    def _representation(self, params: Params) -> Any:
        import numpy as np

        if params.features == "mel":
            from mirctl.backends.musicnn_backend import mel_power

            return lambda mono, sr: mel_power(mono, sr).astype(np.float16)
        from mirctl import models

        embedder = models.load(models.get_card(params.features, task="tag"), models.RunContext(device="cpu"))
        return lambda mono, sr: embedder(mono, sr)[1].astype(np.float32)

    def build(self, params: Params, info: dict[str, Any]) -> Any:
        from mirctl.backends.trained_tagger import build

        return build(params.features, len(info["labels"]), params.width, params.head, params.dropout)

    def collate(self, examples: list[Example], rng: Any, params: Params) -> Any:
        import numpy as np
        import torch

        from mirctl.backends.musicnn_backend import N_FRAMES, compress

        if params.features == "mel":
            windows = []
            for e in examples:
                mel = e.x if e.x.shape[0] >= N_FRAMES else np.resize(e.x, (N_FRAMES, e.x.shape[1]))
                start = int(rng.integers(0, mel.shape[0] - N_FRAMES + 1))
                gain = 10 ** (rng.uniform(-params.gain_db, params.gain_db) / 10) if params.gain_db else 1.0
                windows.append(compress(mel[start:start + N_FRAMES].astype(np.float32) * gain))
            x = np.stack(windows)
        else:
            x = np.stack([e.x[int(rng.integers(0, e.x.shape[0]))] for e in examples])
        return torch.from_numpy(x), torch.from_numpy(np.stack([e.y for e in examples]))

    def loss(self, model: Any, batch: Any, params: Params) -> tuple[Any, dict[str, float]]:
        import torch

        x, y = batch
        return torch.nn.functional.binary_cross_entropy_with_logits(model(x), y), {}

    def scores(self, model: Any, examples: list[Example], params: Params) -> Any:
        """Each clip's tag scores as ``mirctl tag --model`` computes them: the mean
        probability over its consecutive 3 s patches."""
        import numpy as np

        from mirctl.backends.musicnn_backend import compress, patches
        from mirctl.backends.trained_tagger import run_patches

        device = next(model.parameters()).device
        rows = []
        for e in examples:
            inputs = patches(compress(e.x)) if params.features == "mel" else e.x
            rows.append(run_patches(model, inputs, device)[0].mean(axis=0))
        return np.stack(rows)

    def evaluate(self, model: Any, prepared: Prepared, params: Params) -> dict[str, Any]:
        import numpy as np

        from mirctl.evaluation.tagging import evaluate, tune_thresholds

        tags = prepared.info["labels"]
        scores = self.scores(model, list(prepared.valid), params)
        reference = np.stack([e.y for e in prepared.valid]).astype(bool)
        eps = 1e-7
        clipped = np.clip(scores, eps, 1 - eps)
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

    def card(self, params: Params, info: dict[str, Any]) -> dict[str, Any]:
        from mirctl.backends.musicnn_backend import HOP, N_FFT, N_FRAMES, N_MELS

        features: dict[str, Any] = {"input": params.features, "sample_rate": SAMPLE_RATE, "n_fft": N_FFT,
                                    "hop": HOP, "n_mels": N_MELS, "patch_frames": N_FRAMES,
                                    "compression": "log10(1 + 10000 mel)"}
        if params.features != "mel":
            features["embedding"] = f"the {params.features} tagger's penultimate layer (200 values per patch)"
        architecture = "short-chunk CNN" if params.features == "mel" else f"{params.head} head on {params.features}"
        return {"labels": info["labels"], "sample_rate": SAMPLE_RATE, "architecture": architecture,
                "features": features, "positives": info["positives"],
                "license": "as the training data's (trained by mirctl train tag)"}


TRAINABLE = TagTraining()
