"""Weight-free models built on librosa: HPSS and REPET-SIM separation, pYIN f0.

They need no download and run anywhere librosa does; they are honest baselines, far
below demucs in quality, and documented as such in their model cards.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mirctl.backends._lazy import cpu_only, require

if TYPE_CHECKING:
    import numpy as np

    from mirctl.models import RunContext
    from mirctl.models.cards import ModelCard


class _MaskSeparator:
    """Shared STFT masking: subclasses compute one soft mask for the first stem."""

    channels = None  # any channel count: each channel is processed on its own
    sample_rate = None  # any rate

    def __init__(self, card: ModelCard, paths: dict[str, Path], ctx: RunContext) -> None:
        self.librosa = require("librosa", extra="separate")
        cpu_only(card.name, ctx.device)
        self.opts = dict(card.options)
        self.sources = tuple(card.stems)
        self.info = {"name": card.name, "sha256": None}

    def mask(self, mag: np.ndarray, sr: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, wav: np.ndarray, *, sr: int, progress: Callable[[float], None] | None = None,
                 **_: Any) -> np.ndarray:
        """(channels, samples) -> (2, channels, samples); the two stems sum to the input."""
        import numpy as np

        lr = self.librosa
        n_fft, hop = int(self.opts.get("n_fft", 2048)), int(self.opts.get("hop_length", 512))
        out = np.zeros((2,) + wav.shape, dtype=np.float32)
        for c in range(wav.shape[0]):
            spec = lr.stft(wav[c], n_fft=n_fft, hop_length=hop)
            first = lr.istft(spec * self.mask(np.abs(spec), sr), hop_length=hop, n_fft=n_fft, length=wav.shape[1])
            out[0, c] = first
            out[1, c] = wav[c] - first  # complementary: stems add back to the mixture exactly
            if progress:
                progress((c + 1) / wav.shape[0])
        return out


class HPSSSeparator(_MaskSeparator):
    """Median-filtering harmonic/percussive separation; stems: harmonic, percussive."""

    def mask(self, mag: np.ndarray, sr: int) -> np.ndarray:
        k = int(self.opts.get("kernel_size", 31))
        harmonic, _ = self.librosa.decompose.hpss(mag, kernel_size=k, mask=True, margin=1.0, power=2.0)
        return harmonic


class RepetSimSeparator(_MaskSeparator):
    """REPET-SIM: frames are compared with their most similar frames (cosine), the median
    of those neighbours models the repeating accompaniment, the rest is the voice."""

    def mask(self, mag: np.ndarray, sr: int) -> np.ndarray:
        import numpy as np

        lr = self.librosa
        hop = int(self.opts.get("hop_length", 512))
        width = int(lr.time_to_frames(float(self.opts.get("similar_width_s", 2.0)), sr=sr, hop_length=hop))
        width = max(1, min(width, (mag.shape[1] - 1) // 2))
        if mag.shape[1] < 3:
            return np.zeros_like(mag)
        repeating = lr.decompose.nn_filter(mag, aggregate=np.median, metric="cosine", width=width)
        repeating = np.minimum(mag, repeating)
        margin = float(self.opts.get("margin", 2.0))
        return lr.util.softmask(mag - repeating, margin * repeating, power=2)


class PyinTracker:
    """Monophonic f0 with probabilistic YIN; ``__call__(mono, sr)`` -> times, f0, voiced, prob."""

    def __init__(self, card: ModelCard, paths: dict[str, Path], ctx: RunContext) -> None:
        self.librosa = require("librosa", extra="transcribe")
        cpu_only(card.name, ctx.device)
        self.opts = dict(card.options)
        self.info = {"name": card.name, "sha256": None}

    def __call__(self, mono: np.ndarray, sr: int) -> dict[str, np.ndarray]:
        import numpy as np

        hop = int(self.opts.get("hop_length", 256))
        f0, voiced, prob = self.librosa.pyin(
            mono, fmin=float(self.opts.get("fmin_hz", 65.0)), fmax=float(self.opts.get("fmax_hz", 2093.0)),
            sr=sr, frame_length=int(self.opts.get("frame_length", 2048)), hop_length=hop)
        times = np.arange(f0.size) * hop / sr
        return {"time_s": times, "f0_hz": np.nan_to_num(f0, nan=0.0), "voiced": voiced, "confidence": prob}
