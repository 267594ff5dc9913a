"""Pictures people would rather look at than read: waveform/spectrogram and piano roll.

matplotlib (the ``plot`` extra) loads only when a picture is drawn, with the Agg
backend so it works without a display.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from mirctl.backends._lazy import require

if TYPE_CHECKING:
    import numpy as np

    from mirctl.types import Note


def _pyplot():
    matplotlib = require("matplotlib", extra="plot")
    matplotlib.use("Agg", force=True)
    return require("matplotlib.pyplot", extra="plot")


def _save(plt, fig, path: str) -> None:
    """Lay out, write as a 100-dpi PNG and free a figure."""
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def log_spectrogram(mono: np.ndarray, sr: int, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """Magnitude in dB, shape (n_fft // 2 + 1, frames); numpy only."""
    import numpy as np

    if mono.size < n_fft:
        mono = np.pad(mono, (0, n_fft - mono.size))
    frames = 1 + (mono.size - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(mono[idx] * np.hanning(n_fft)[None, :], axis=1)).T
    return 20 * np.log10(np.maximum(spec, 1e-6))


def render_waveform(path: str, wav: np.ndarray, sr: int, title: str = "") -> None:
    """Waveform of each channel above a log-frequency spectrogram of the mix."""
    import numpy as np

    plt = _pyplot()
    n_ch = wav.shape[0]
    fig, axes = plt.subplots(n_ch + 1, 1, figsize=(11, 2 + 1.6 * (n_ch + 1)), sharex=True,
                             gridspec_kw={"height_ratios": [1] * n_ch + [2]})
    t = np.arange(wav.shape[1]) / sr
    step = max(1, wav.shape[1] // 20000)  # enough points for the eye, few for the renderer
    for c in range(n_ch):
        axes[c].plot(t[::step], wav[c, ::step], lw=0.5, color="#1f77b4")
        axes[c].set_ylim(-1.05, 1.05)
        axes[c].set_ylabel(f"ch {c + 1}")
    spec = log_spectrogram(wav.mean(axis=0), sr)
    freqs = np.linspace(0, sr / 2, spec.shape[0])
    axes[-1].pcolormesh(np.linspace(0, t[-1] if t.size else 0, spec.shape[1]), freqs[1:], spec[1:],
                        shading="auto", cmap="magma", vmin=spec.max() - 80, vmax=spec.max())
    axes[-1].set_yscale("log")
    axes[-1].set_ylabel("Hz")
    axes[-1].set_xlabel("time (s)")
    if title:
        axes[0].set_title(title)
    _save(plt, fig, path)


def render_pianoroll(path: str, notes: Sequence[Note], title: str = "", mono: np.ndarray | None = None,
                     sr: int | None = None) -> None:
    """Notes as bars on a MIDI-pitch axis, over the input's spectrogram when given."""
    import numpy as np

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(12, 5))
    end = max([n.end_s for n in notes], default=1.0)
    if mono is not None and sr:
        end = max(end, mono.size / sr)
        spec = log_spectrogram(mono, sr, n_fft=4096, hop=1024)
        freqs = np.linspace(0, sr / 2, spec.shape[0])[1:]
        pitches = 69 + 12 * np.log2(freqs / 440.0)
        keep = (pitches >= 20) & (pitches <= 109)
        ax.pcolormesh(np.linspace(0, mono.size / sr, spec.shape[1]), pitches[keep], spec[1:][keep],
                      shading="auto", cmap="Greys", vmin=spec.max() - 70, vmax=spec.max())
    if notes:  # one collection, not a patch per note: 50,000 notes draw in a second, not a minute
        from matplotlib.collections import PolyCollection

        box = np.array([[n.start_s, n.end_s, n.pitch, n.velocity] for n in notes], dtype=float)
        x0, x1, y0, y1 = box[:, 0], box[:, 1], box[:, 2] - 0.4, box[:, 2] + 0.4
        verts = np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1),
                          np.stack([x0, y1], 1)], axis=1)
        ax.add_collection(PolyCollection(verts, facecolors=plt.cm.viridis(box[:, 3] / 127), edgecolors="none",
                                         alpha=0.85))
    lo = min([n.pitch for n in notes], default=48) - 3
    hi = max([n.pitch for n in notes], default=72) + 3
    ax.set_xlim(0, end)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(title or f"{len(notes)} notes")
    _save(plt, fig, path)


def envelope(wav: np.ndarray, points: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """(min, max) of the channel-averaged signal over ``points`` equal stretches: what a
    waveform plot needs of a long signal, without drawing millions of samples."""
    import numpy as np

    mono = wav.mean(axis=0) if wav.ndim == 2 else wav
    n = mono.size
    if n == 0:
        return np.zeros(1), np.zeros(1)
    points = max(1, min(points, n))
    usable = (n // points) * points
    blocks = mono[:usable].reshape(points, -1)
    return blocks.min(axis=1), blocks.max(axis=1)


def render_mix(path: str, rows: Sequence[tuple[str, np.ndarray]], sr: int, title: str = "") -> None:
    """One waveform envelope per stem and the master at the bottom, all on one time axis
    and one amplitude scale, so the balance of the mix can be seen; ``rows`` are
    (label, (channels, samples) audio); the label carries the levels."""
    import numpy as np

    plt = _pyplot()
    fig, axes = plt.subplots(len(rows), 1, figsize=(11, 1.2 + 1.25 * len(rows)), sharex=True, squeeze=False)
    for i, (label, wav) in enumerate(rows):
        ax = axes[i, 0]
        lo, hi = envelope(wav)
        t = np.linspace(0, wav.shape[-1] / sr, lo.size)
        master = i == len(rows) - 1
        ax.fill_between(t, lo, hi, color="#c0392b" if master else "#1f77b4", lw=0)
        ax.set_ylim(-1.05, 1.05)
        ax.set_yticks([-1, 0, 1])
        ax.text(0.005, 0.92, label, transform=ax.transAxes, va="top", fontsize=9,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5})
    axes[-1, 0].set_xlabel("time (s)")
    if title:
        axes[0, 0].set_title(title)
    _save(plt, fig, path)


def render_taggram(path: str, taggram: np.ndarray, labels: Sequence[str], patch_s: float, title: str = "") -> None:
    """Tags (rows) over time (3 s patches), the probability as colour, with each tag's
    mean score beside its name — the picture of musicnn's paper."""
    import numpy as np

    plt = _pyplot()
    mean = taggram.mean(axis=0)
    fig, ax = plt.subplots(figsize=(11, 1.5 + 0.19 * len(labels)))
    extent = (0, taggram.shape[0] * patch_s, len(labels) - 0.5, -0.5)
    image = ax.imshow(taggram.T, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0, vmax=1, extent=extent)
    ax.set_yticks(np.arange(len(labels)))
    ax.set_yticklabels([f"{name}  {m:.2f}" for name, m in zip(labels, mean)], fontsize=7)
    ax.set_xlabel("time (s)")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01, label="probability")
    _save(plt, fig, path)


def render_confusion(path: str, labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str = "") -> None:
    """The confusion matrix: true classes down, predicted across, each row coloured by
    the share of that class's files (so rare classes show as clearly as common ones),
    the counts written in the cells."""
    import numpy as np

    plt = _pyplot()
    counts = np.asarray(matrix, dtype=float)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 2.5 + 0.45 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if len(labels) <= 30:
        for i in range(len(labels)):
            for j in range(len(labels)):
                if counts[i, j]:
                    ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=7,
                            color="white" if share[i, j] > 0.6 else "black")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02, label="share of the true class")
    _save(plt, fig, path)
