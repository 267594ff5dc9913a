"""What ``mirctl train tag`` and ``mirctl train classify`` share: clips in, one network
over 3 s windows of them (:mod:`mirctl.backends.clip_models`), augmentation, and
validation that scores each clip the way the inference command will.

Every clip becomes its representation once, before training: its mel power spectrogram
(``features = mel``, musicnn's front-end: 16 kHz, 96 bands, float16 to halve the
memory) or the pretrained musicnn embeddings of its 3 s patches. A training example is
one window of a clip with the clip's target:

- mel: a random 187-frame crop (the time shift), a random gain (±``gain_db``), a random
  pitch shift (±``pitch_shift`` semitones: the mel spectrum read at frequencies divided
  by the shift's ratio, which moves partials and spectral envelope together, as
  resampling does), and optionally noise mixed in at a random SNR (``noise_snr`` … +20
  dB, white or pink, added in the power domain where uncorrelated noise adds), then
  musicnn's ``log10(1 + 10000·mel)``;
- musicnn features: one random patch's embedding (the augmentation musicnn allows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from mirctl.errors import UsageError
from mirctl.training import Prepared, Trainable

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class ClipParams:
    labels: Path | None = None  # the labels table; None: the task's default
    features: str = "mel"  # mel | musicnn-mtt | musicnn-msd
    arch: str = "short-chunk"  # mel: short-chunk | crnn
    head: str = "mlp"  # musicnn features: linear | mlp
    width: int = 32  # channels of the first conv block
    dropout: float = 0.3
    gain_db: float = 6.0  # random gain within ± this
    pitch_shift: float = 0.0  # random pitch shift within ± this many semitones
    noise_snr: float | None = None  # mix noise in at SNR noise_snr … +20 dB (half the examples); None: never
    valid_fraction: float = 0.2
    npy_sr: int = 16000


@dataclass
class Example:
    name: str
    x: Any  # mel power (frames, 96) float16, or embeddings (patches, 200) float32
    y: Any  # the target: multi-hot float32 (tags,) or a class index


def mel_centres() -> Any:
    """The centre frequencies (Hz) of musicnn's 96 mel bands."""
    from mirctl.backends.musicnn_backend import N_MELS, SAMPLE_RATE as SR, _hz_to_mel, _mel_to_hz
    import numpy as np

    return _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SR / 2.0), N_MELS + 2))[1:-1]


def shift_pitch(mel: Any, semitones: float, centres: Any) -> Any:
    """``mel`` (frames, bands) as if every frequency were multiplied by 2^(semitones/12):
    band k takes the (linearly interpolated) value the input has at centre_k / ratio;
    below the lowest band it takes the lowest band's value, above the highest none."""
    import numpy as np

    if semitones == 0:
        return mel
    source = centres / 2 ** (semitones / 12)
    pos = np.interp(source, centres, np.arange(centres.size), left=0.0, right=np.nan)
    keep = ~np.isnan(pos)
    pos = np.where(keep, pos, 0.0)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, centres.size - 1)
    w = (pos - lo).astype(np.float32)
    out = mel[:, lo] * (1 - w) + mel[:, hi] * w
    return out * keep.astype(np.float32)


def add_noise(mel: Any, snr_db: float, pink: bool, rng: Any, centres: Any) -> Any:
    """``mel`` with noise of the given colour added at ``snr_db`` below its mean power
    (Slaney-normalised bands give white noise an even power per band; pink falls as
    1/f), each value drawn as a band of independent bins (gamma, shape 4)."""
    import numpy as np

    colour = 1000.0 / np.maximum(centres, 50.0) if pink else np.ones_like(centres)
    colour = colour / colour.mean()
    level = float(np.mean(mel)) / 10 ** (snr_db / 10)
    return mel + (level * colour[None, :] * rng.gamma(4.0, 0.25, mel.shape)).astype(np.float32)


class ClipTraining(Trainable):
    """A Trainable over labelled clips. A task sets ``activation`` (``sigmoid`` for
    tags, ``softmax`` for classes) and gives ``read_table``, ``target_loss``,
    ``metrics`` and ``card_fields``."""

    activation = "sigmoid"
    default_table = "labels.csv"
    stratify = False  # split within each target (single-label classes)

    # --- what the task gives ---------------------------------------------------
    def read_table(self, params: Any, data: Path) -> tuple[list[str], list[Any]]:
        """(labels, clips): clips have ``path``, ``split``, ``group`` and a ``target``."""
        raise NotImplementedError

    def target_loss(self, logits: Any, y: Any, params: Any, model: Any) -> Any:
        """The batch's loss (``model`` may carry buffers the task set in ``build``)."""
        raise NotImplementedError

    def metrics(self, reference: Any, scores: Any, params: Any, info: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def check_training_set(self, labels: list[str], train: list[Example]) -> dict[str, Any]:
        """Raise UsageError when the training clips cannot teach every label; the facts
        for the card (counts per label)."""
        return {}

    def card_fields(self, params: Any, info: dict[str, Any]) -> dict[str, Any]:
        return {}

    # --- shared ---------------------------------------------------------------------
    def validate(self, params: Any) -> None:
        from mirctl.backends.clip_models import ARCHS, FEATURES

        if params.features not in FEATURES:
            raise UsageError(f"--features {params.features!r} is not one of {', '.join(FEATURES)}")
        if params.arch not in ARCHS:
            raise UsageError(f"--arch {params.arch!r} is not one of {', '.join(ARCHS)}")
        if params.head not in ("linear", "mlp"):
            raise UsageError(f"--head {params.head!r} is not linear or mlp")
        if params.width < 1 or params.npy_sr < 1:
            raise UsageError("--width and --npy-sr must be at least 1")
        if not 0.0 <= params.dropout < 1.0:
            raise UsageError(f"--dropout {params.dropout} must be in [0, 1)")
        if params.gain_db < 0 or params.pitch_shift < 0:
            raise UsageError("--gain-db and --pitch-shift are ranges (± that much): at least 0")

    def prepare(self, params: Any, data: Path, seed: int) -> Prepared:
        import numpy as np

        from mirctl.training.data import load_clip, split

        labels, clips = self.read_table(params, Path(data))
        train_clips, valid_clips = split(clips, params.valid_fraction, seed, self.stratify)
        represent = self._representation(params)
        examples = {}
        for clip in train_clips + valid_clips:
            if clip.path not in examples:
                mono, sr = load_clip(clip.path, params.npy_sr)
                examples[clip.path] = Example(clip.path.name, represent(mono, sr), np.asarray(clip.target))
        train = [examples[c.path] for c in train_clips]
        valid = [examples[c.path] for c in valid_clips]
        info = {"labels": list(labels), **self.check_training_set(list(labels), train)}
        return Prepared(train=train, valid=valid, info=info)

    def _representation(self, params: Any) -> Any:
        import numpy as np

        if params.features == "mel":
            from mirctl.backends.musicnn_backend import mel_power

            return lambda mono, sr: mel_power(mono, sr).astype(np.float16)
        from mirctl import models

        embedder = models.load(models.get_card(params.features, task="tag"), models.RunContext(device="cpu"))
        return lambda mono, sr: embedder(mono, sr)[1].astype(np.float32)

    def build(self, params: Any, info: dict[str, Any]) -> Any:
        from mirctl.backends.clip_models import build

        return build(params.features, len(info["labels"]), params.width, params.head, params.dropout, params.arch)

    def window(self, mel: Any, rng: Any, params: Any, centres: Any) -> Any:
        """One augmented 3 s log-mel window of a clip's mel power (see the module)."""
        import numpy as np

        from mirctl.backends.musicnn_backend import N_FRAMES, compress

        mel = mel if mel.shape[0] >= N_FRAMES else np.resize(mel, (N_FRAMES, mel.shape[1]))
        start = int(rng.integers(0, mel.shape[0] - N_FRAMES + 1))
        x = mel[start:start + N_FRAMES].astype(np.float32)
        if params.gain_db:
            x = x * 10 ** (rng.uniform(-params.gain_db, params.gain_db) / 10)
        if params.pitch_shift:
            x = shift_pitch(x, rng.uniform(-params.pitch_shift, params.pitch_shift), centres)
        if params.noise_snr is not None and rng.random() < 0.5:
            x = add_noise(x, rng.uniform(params.noise_snr, params.noise_snr + 20), bool(rng.random() < 0.5), rng,
                          centres)
        return compress(x)

    def collate(self, examples: list[Example], rng: Any, params: Any) -> Any:
        import numpy as np
        import torch

        if len(examples) == 1:  # an epoch's last batch of one: batch norm needs two (a second window of it)
            examples = examples * 2
        if params.features == "mel":
            centres = mel_centres()
            x = np.stack([self.window(e.x, rng, params, centres) for e in examples])
        else:
            x = np.stack([e.x[int(rng.integers(0, e.x.shape[0]))] for e in examples])
        return torch.from_numpy(x), torch.from_numpy(np.stack([e.y for e in examples]))

    def loss(self, model: Any, batch: Any, params: Any) -> tuple[Any, dict[str, float]]:
        x, y = batch
        return self.target_loss(model(x), y, params, model), {}

    def patch_probabilities(self, model: Any, examples: Sequence[Example], params: Any) -> list[Any]:
        """Each clip's per-patch probabilities, as the inference command computes them
        (its consecutive 3 s patches)."""
        from mirctl.backends.clip_models import run_patches
        from mirctl.backends.musicnn_backend import compress, patches

        device = next(model.parameters()).device
        return [run_patches(model, patches(compress(e.x)) if params.features == "mel" else e.x, device,
                            activation=self.activation)[0] for e in examples]

    def evaluate(self, model: Any, prepared: Prepared, params: Any) -> dict[str, Any]:
        import numpy as np

        per_patch = self.patch_probabilities(model, prepared.valid, params)
        reference = np.stack([e.y for e in prepared.valid])
        return self.metrics(reference, per_patch, params, prepared.info)

    def card(self, params: Any, info: dict[str, Any]) -> dict[str, Any]:
        from mirctl.backends.musicnn_backend import HOP, N_FFT, N_FRAMES, N_MELS

        features: dict[str, Any] = {"input": params.features, "sample_rate": SAMPLE_RATE, "n_fft": N_FFT,
                                    "hop": HOP, "n_mels": N_MELS, "patch_frames": N_FRAMES,
                                    "compression": "log10(1 + 10000 mel)"}
        if params.features != "mel":
            features["embedding"] = f"the {params.features} tagger's penultimate layer (200 values per patch)"
            architecture = f"{params.head} head on {params.features}"
        else:
            architecture = "short-chunk CNN" if params.arch == "short-chunk" else "CRNN"
        return {"labels": info["labels"], "sample_rate": SAMPLE_RATE, "architecture": architecture,
                "features": features, **self.card_fields(params, info),
                "license": f"as the training data's (trained by mirctl train {self.name})"}
